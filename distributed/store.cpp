#include "distributed/store.h"

#include <filesystem>

#include <gloo/common/error.h>
#include <gloo/rendezvous/file_store.h>
#include <gloo/rendezvous/redis_store.h>

#include "core/error.h"

namespace ember::distributed {

namespace {

std::unique_ptr<gloo::rendezvous::Store> open_backend(const std::string& url) {
  const StoreAddress address = parse_store_url(url);
  if (address.kind == StoreAddress::Kind::file) {
    std::error_code error;
    std::filesystem::create_directories(address.directory, error);
    EMBER_CHECK(!error, "Store: cannot create the store directory '", address.directory, "': ", error.message());
    return std::make_unique<gloo::rendezvous::FileStore>(address.directory);
  }
  try {
    return std::make_unique<gloo::rendezvous::RedisStore>(address.host, address.port);
  } catch (const gloo::Exception& error) {
    fail("Store: cannot connect to redis at '", address.host, ":", address.port, "': ", error.what());
  }
}

}  // namespace

StoreAddress parse_store_url(const std::string& url) {
  const std::string file_scheme = "file://";
  const std::string redis_scheme = "redis://";
  StoreAddress address;
  if (url.rfind(file_scheme, 0) == 0) {
    address.directory = url.substr(file_scheme.size());
    EMBER_CHECK(!address.directory.empty() && address.directory.front() == '/', "Store: '", url,
                "' must name an absolute directory, e.g. file:///tmp/ember-store");
    return address;
  }
  EMBER_CHECK(url.rfind(redis_scheme, 0) == 0, "Store: unknown store '", url,
              "' (expected file:///directory or redis://host:port)");
  address.kind = StoreAddress::Kind::redis;
  const std::string rest = url.substr(redis_scheme.size());
  const std::size_t colon = rest.rfind(':');
  EMBER_CHECK(colon != std::string::npos && colon > 0 && colon + 1 < rest.size(), "Store: '", url,
              "' must be redis://host:port");
  address.host = rest.substr(0, colon);
  const std::string port = rest.substr(colon + 1);
  // Digits only, at most 5 of them, then in range: "1xyz", "-1" and "99999999999" are errors.
  const bool digits = port.size() <= 5 && port.find_first_not_of("0123456789") == std::string::npos;
  address.port = digits ? std::stoi(port) : 0;
  EMBER_CHECK(address.port >= 1 && address.port <= 65535, "Store: '", url, "' has no valid port number (1 to 65535)");
  return address;
}

std::shared_ptr<Store> Store::open(const std::string& url, std::chrono::milliseconds timeout,
                                   const std::string& key_prefix) {
  EMBER_CHECK(timeout.count() > 0, "Store: the timeout must be positive, got ", timeout.count(), " ms");
  return std::shared_ptr<Store>(new Store(url, open_backend(url), timeout, key_prefix));
}

Store::Store(std::string url, std::unique_ptr<gloo::rendezvous::Store> backend, std::chrono::milliseconds timeout,
             std::string key_prefix)
    : url_(std::move(url)), key_prefix_(std::move(key_prefix)), backend_(std::move(backend)), timeout_(timeout) {}

std::vector<std::string> Store::prefixed(const std::vector<std::string>& keys) const {
  std::vector<std::string> stored;
  for (const std::string& key : keys) stored.push_back(key_prefix_ + key);
  return stored;
}

void Store::set(const std::string& key, const std::vector<char>& value) {
  try {
    backend_->set(key_prefix_ + key, value);
  } catch (const gloo::Exception& error) {
    fail("Store ", url_, ": cannot set '", key, "': ", error.what());
  }
}

std::vector<char> Store::get(const std::string& key) {
  wait({key});
  try {
    return backend_->get(key_prefix_ + key);
  } catch (const gloo::Exception& error) {
    fail("Store ", url_, ": cannot read '", key, "': ", error.what());
  }
}

void Store::wait(const std::vector<std::string>& keys) { wait(keys, timeout_); }

void Store::wait(const std::vector<std::string>& keys, const std::chrono::milliseconds& timeout) {
  try {
    backend_->wait(prefixed(keys), timeout);
  } catch (const gloo::Exception& error) {
    std::string names;
    for (const std::string& key : keys) names += (names.empty() ? "'" : ", '") + key + "'";
    fail("Store ", url_, ": waited ", timeout.count(), " ms for ", names,
         " and gave up (a rank did not start, or died before joining): ", error.what());
  }
}

}  // namespace ember::distributed

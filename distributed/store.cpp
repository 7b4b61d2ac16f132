#include "distributed/store.h"

#include <filesystem>

#include <gloo/common/error.h>
#include <gloo/rendezvous/file_store.h>
#include <gloo/rendezvous/redis_store.h>

#include "core/error.h"

namespace ember::distributed {

namespace {

std::unique_ptr<gloo::rendezvous::Store> open_backend(const std::string& url) {
  const std::string file_scheme = "file://";
  const std::string redis_scheme = "redis://";
  if (url.rfind(file_scheme, 0) == 0) {
    const std::string directory = url.substr(file_scheme.size());
    EMBER_CHECK(!directory.empty() && directory.front() == '/', "Store: '", url,
                "' must name an absolute directory, e.g. file:///tmp/ember-store");
    std::error_code error;
    std::filesystem::create_directories(directory, error);
    EMBER_CHECK(!error, "Store: cannot create the store directory '", directory, "': ", error.message());
    return std::make_unique<gloo::rendezvous::FileStore>(directory);
  }
  if (url.rfind(redis_scheme, 0) == 0) {
    const std::string address = url.substr(redis_scheme.size());
    const std::size_t colon = address.rfind(':');
    EMBER_CHECK(colon != std::string::npos && colon > 0 && colon + 1 < address.size(), "Store: '", url,
                "' must be redis://host:port");
    int port = 0;
    try {
      port = std::stoi(address.substr(colon + 1));
    } catch (const std::exception&) {
      fail("Store: '", url, "' has no valid port number");
    }
    try {
      return std::make_unique<gloo::rendezvous::RedisStore>(address.substr(0, colon), port);
    } catch (const gloo::Exception& error) {
      fail("Store: cannot connect to redis at '", address, "': ", error.what());
    }
  }
  fail("Store: unknown store '", url, "' (expected file:///directory or redis://host:port)");
}

}  // namespace

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

#pragma once
// Store: the key-value table processes meet at before they can talk to each other (rendezvous).
// Each rank publishes its address (Gloo) or the NCCL unique id under a key; the others wait for
// the keys to appear. Two kinds, named by a URL:
//   file:///path        a directory on one machine or on a file system all machines share
//   redis://host:port   a redis-server every machine can reach (Debian's redis-server)
// A run's keys start with its EMBER_RUN_ID (distributed/init.cpp), so keys an earlier run left
// in the same store are never read as this run's.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <gloo/rendezvous/store.h>

namespace ember::distributed {

// What a store URL names.
struct StoreAddress {
  enum class Kind { file, redis } kind = Kind::file;
  std::string directory;  // file: an absolute path
  std::string host;       // redis
  int port = 0;           // redis: 1 to 65535
};

// Parses file:///absolute/directory or redis://host:port; anything else is an ember::Error
// naming the URL and what is wrong.
StoreAddress parse_store_url(const std::string& url);

// Gloo's store interface, with every wait bounded by one timeout: a rank that never arrives
// gives an ember::Error naming the missing keys, never a hang.
class Store : public gloo::rendezvous::Store {
 public:
  // Opens the store `url` names; every wait gives up after `timeout`. Every key is stored as
  // `key_prefix` + key, so that several groups can meet in one store without mixing their keys.
  static std::shared_ptr<Store> open(const std::string& url, std::chrono::milliseconds timeout,
                                     const std::string& key_prefix = "");

  void set(const std::string& key, const std::vector<char>& value) override;
  // Waits (up to the timeout) for `key`, then returns its value.
  std::vector<char> get(const std::string& key) override;
  void wait(const std::vector<std::string>& keys) override;
  void wait(const std::vector<std::string>& keys, const std::chrono::milliseconds& timeout) override;

  const std::string& url() const { return url_; }
  std::chrono::milliseconds timeout() const { return timeout_; }

 private:
  Store(std::string url, std::unique_ptr<gloo::rendezvous::Store> backend, std::chrono::milliseconds timeout,
        std::string key_prefix);
  std::vector<std::string> prefixed(const std::vector<std::string>& keys) const;

  std::string url_;
  std::string key_prefix_;
  std::unique_ptr<gloo::rendezvous::Store> backend_;
  std::chrono::milliseconds timeout_;
};

}  // namespace ember::distributed

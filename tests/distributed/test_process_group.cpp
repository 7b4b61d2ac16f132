// ProcessGroup over Gloo: every collective against values worked out by hand, with 2 and 3
// ranks, several dtypes and sizes (including sizes the world size does not divide); argument
// errors; and failures: a rank that never joins, a rank that dies mid-run.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <thread>
#include <iterator>
#include <map>

#include "core/ember.h"
#include "cuda/cuda_helpers.h"
#include "distributed/ddp.h"
#include "distributed/gloo_process_group.h"
#include "distributed/environment.h"
#include "distributed/init.h"
#include "distributed/store.h"
#include "distributed/temporary_directory.h"
#include "optim/sgd.h"
#include "ranks.h"
#include "tiny_problem.h"

using namespace ember;
using namespace ember::distributed;
using ember::testing::contains;
using ember::testing::error_of;
using ember::testing::require;

namespace {

// values[i] as a tensor of `dtype` on `device` (every value used here is exact in every dtype).
Tensor make(const std::vector<double>& values, DType dtype, const Device& device) {
  Tensor out = zeros({static_cast<std::int64_t>(values.size())}, {.dtype = DType::f64});
  std::copy(values.begin(), values.end(), out.data<double>());
  return out.to(dtype).to(device);
}

void require_values(const Tensor& actual, const std::vector<double>& expected, const std::string& what) {
  const std::vector<double> got = actual.to(Device::cpu()).to(DType::f64).to_vector<double>();
  require(got.size() == expected.size(), what + ": got " + std::to_string(got.size()) + " values, expected " +
                                             std::to_string(expected.size()));
  for (std::size_t i = 0; i < got.size(); ++i) {
    require(got[i] == expected[i], what + ": element " + std::to_string(i) + " is " + std::to_string(got[i]) +
                                       ", expected " + std::to_string(expected[i]));
  }
}

std::vector<double> filled(std::size_t n, const std::function<double(std::size_t)>& value) {
  std::vector<double> values(n);
  for (std::size_t i = 0; i < n; ++i) values[i] = value(i);
  return values;
}

}  // namespace

RANK_SCENARIO(collectives_match_hand_computed_values) {
  const int R = group->size();
  const int me = group->rank();
  const Device device = group->device();
  const double rank_sum = R * (R + 1) / 2.0;  // sum over ranks of (rank + 1)
  for (const DType dtype : {DType::f32, DType::f64, DType::f16, DType::bf16, DType::i32, DType::i64, DType::u8}) {
    for (const std::size_t n : {std::size_t{1}, std::size_t{7}, std::size_t{1000}, std::size_t{65537}}) {
      const std::string where = std::string(name(dtype)) + " n=" + std::to_string(n);
      // all_reduce sum: rank r holds (r + 1) * (i % 5 + 1); the sum is rank_sum * (i % 5 + 1).
      Tensor t = make(filled(n, [&](std::size_t i) { return (me + 1) * double(i % 5 + 1); }), dtype, device);
      group->all_reduce(t, ReduceOp::sum)->wait();
      require_values(t, filled(n, [&](std::size_t i) { return rank_sum * double(i % 5 + 1); }), "all_reduce sum " + where);
      // max: rank r holds (7r + i) % 11; the max is taken over the ranks directly.
      t = make(filled(n, [&](std::size_t i) { return double((7 * me + i) % 11); }), dtype, device);
      group->all_reduce(t, ReduceOp::max)->wait();
      require_values(t, filled(n, [&](std::size_t i) {
                       double best = 0;
                       for (int r = 0; r < R; ++r) best = std::max(best, double((7 * r + i) % 11));
                       return best;
                     }), "all_reduce max " + where);
      // avg (floating only): rank_sum / R * (i % 5 + 1) = (R + 1) / 2 * (i % 5 + 1), exact for R = 2, 3.
      if (is_floating(dtype)) {
        t = make(filled(n, [&](std::size_t i) { return (me + 1) * double(i % 5 + 1); }), dtype, device);
        group->all_reduce(t, ReduceOp::avg)->wait();
        require_values(t, filled(n, [&](std::size_t i) { return (R + 1) / 2.0 * double(i % 5 + 1); }),
                       "all_reduce avg " + where);
      }
      // reduce_scatter with unequal pieces: counts[r] = n + r. Every rank holds (r + 1) * (j % 5 + 1)
      // at position j of the whole; rank r receives the sums of its piece.
      std::vector<std::int64_t> counts;
      std::int64_t total = 0;
      for (int r = 0; r < R; ++r) counts.push_back(static_cast<std::int64_t>(n) + r), total += counts.back();
      std::int64_t start = 0;
      for (int r = 0; r < me; ++r) start += counts[static_cast<std::size_t>(r)];
      const Tensor whole = make(filled(static_cast<std::size_t>(total), [&](std::size_t j) {
                                  return (me + 1) * double(j % 5 + 1);
                                }), dtype, device);
      Tensor piece = zeros({counts[static_cast<std::size_t>(me)]}, {.dtype = dtype, .device = device});
      group->reduce_scatter(piece, whole, ReduceOp::sum, counts)->wait();
      require_values(piece, filled(static_cast<std::size_t>(counts[static_cast<std::size_t>(me)]), [&](std::size_t i) {
                       return rank_sum * double((start + static_cast<std::int64_t>(i)) % 5 + 1);
                     }), "reduce_scatter " + where);
      // all_gather with the same unequal pieces: rank r contributes (r * 3 + j) % 13 for j < n + r.
      const Tensor mine = make(filled(static_cast<std::size_t>(counts[static_cast<std::size_t>(me)]),
                                      [&](std::size_t j) { return double((me * 3 + j) % 13); }), dtype, device);
      Tensor gathered = zeros({total}, {.dtype = dtype, .device = device});
      group->all_gather(gathered, mine, counts)->wait();
      std::vector<double> expected;
      for (int r = 0; r < R; ++r) {
        for (std::int64_t j = 0; j < counts[static_cast<std::size_t>(r)]; ++j) expected.push_back(double((r * 3 + j) % 13));
      }
      require_values(gathered, expected, "all_gather " + where);
      // broadcast from the last rank: everyone ends with its values, (R - 1) * 10 + i % 7.
      t = make(filled(n, [&](std::size_t i) { return double(me * 10 + i % 7); }), dtype, device);
      group->broadcast(t, R - 1)->wait();
      require_values(t, filled(n, [&](std::size_t i) { return double((R - 1) * 10 + i % 7); }), "broadcast " + where);
    }
  }
  // Equal pieces (no counts): R * 4 elements, rank r receives elements 4r .. 4r + 3 summed.
  const Tensor whole = make(filled(static_cast<std::size_t>(4 * R), [&](std::size_t j) { return double(j); }), DType::f32, device);
  Tensor piece = zeros({4}, {.device = device});
  group->reduce_scatter(piece, whole, ReduceOp::avg)->wait();
  require_values(piece, filled(4, [&](std::size_t i) { return double(4 * me + static_cast<int>(i)); }),
                 "reduce_scatter avg, equal pieces");
  // bool: "or" across ranks; rank r sets element r.
  Tensor flags = make(filled(4, [&](std::size_t i) { return i == static_cast<std::size_t>(me) ? 1.0 : 0.0; }), DType::b8, device);
  group->all_reduce(flags, ReduceOp::sum)->wait();
  require_values(flags, filled(4, [&](std::size_t i) { return i < static_cast<std::size_t>(R) ? 1.0 : 0.0; }),
                 "all_reduce of bool");
  // Work handles: several collectives in flight at once finish in order with the right values.
  std::vector<Tensor> tensors;
  std::vector<std::shared_ptr<Work>> works;
  for (int k = 0; k < 8; ++k) {
    tensors.push_back(full({3}, double(k + me), {.device = device}));
    works.push_back(group->all_reduce(tensors.back(), ReduceOp::sum));
  }
  for (int k = 0; k < 8; ++k) {
    works[static_cast<std::size_t>(k)]->wait();
    require(works[static_cast<std::size_t>(k)]->is_completed(), "a waited work reports completion");
    require_values(tensors[static_cast<std::size_t>(k)], std::vector<double>(3, k * R + R * (R - 1) / 2.0),
                   "in-flight all_reduce " + std::to_string(k));
  }
  group->barrier()->wait();
}

TEST_CASE("the launcher's environment and store URLs are read strictly") {
  using Variables = std::map<std::string, std::string>;
  auto world = [](const Variables& variables) {
    return read_world([&](const char* name) -> const char* {
      const auto found = variables.find(name);
      return found == variables.end() ? nullptr : found->second.c_str();
    });
  };
  const WorldInfo launched = world({{"RANK", "3"}, {"WORLD_SIZE", "4"}, {"LOCAL_RANK", "1"}, {"LOCAL_WORLD_SIZE", "2"},
                                    {"EMBER_STORE", "file:///tmp/s"}, {"EMBER_RUN_ID", "job-7"}});
  CHECK((launched.launched && launched.rank == 3 && launched.local_rank == 1 && launched.num_nodes() == 2));
  CHECK(launched.run_id == "job-7");
  CHECK(contains(error_of([&] { world({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"EMBER_STORE", "file:///s"}}); }),
                 "EMBER_RUN_ID is not set"));
  CHECK_FALSE(world({}).launched);
  CHECK(contains(error_of([&] { world({{"RANK", "0"}}); }), "set both RANK and WORLD_SIZE"));
  CHECK(contains(error_of([&] { world({{"RANK", "1x"}, {"WORLD_SIZE", "2"}, {"EMBER_STORE", "file:///s"}}); }),
                 "RANK='1x' is not a non-negative integer"));
  CHECK(contains(error_of([&] { world({{"RANK", "2"}, {"WORLD_SIZE", "2"}, {"EMBER_STORE", "file:///s"}}); }),
                 "RANK=2 must be below WORLD_SIZE=2"));
  CHECK(contains(error_of([&] { world({{"RANK", "0"}, {"WORLD_SIZE", "2"}}); }), "EMBER_STORE is not set"));

  const StoreAddress redis = parse_store_url("redis://127.0.0.1:6379");
  CHECK((redis.kind == StoreAddress::Kind::redis && redis.host == "127.0.0.1" && redis.port == 6379));
  CHECK(parse_store_url("file:///tmp/store").directory == "/tmp/store");
  // std::stoi read "1xyz" as port 1 and let 99999 through; every one of these is an Error now.
  for (const char* port : {"1xyz", "0", "65536", "-1", "99999999999", " 80"}) {
    CAPTURE(port);
    CHECK(contains(error_of([&] { parse_store_url(std::string("redis://host:") + port); }), "has no valid port number"));
  }
  CHECK(contains(error_of([] { parse_store_url("redis://6379"); }), "must be redis://host:port"));
  CHECK(contains(error_of([] { parse_store_url("file://relative/dir"); }), "must name an absolute directory"));
  CHECK(contains(error_of([] { parse_store_url("http://host"); }), "unknown store 'http://host'"));
}

TEST_CASE("a store an earlier run left its keys in is never read as this run's") {
  // Three runs meet in one directory, one after the other (as runs of a job script that reuses
  // its --store would): each launch's EMBER_RUN_ID starts its keys, so the later runs never read
  // the addresses the earlier ranks published and left behind.
  const TemporaryDirectory shared("ember-stale-store");
  ember::testing::RanksOptions options;
  options.store = shared.url();
  auto keys_in_store = [&] {
    const auto entries = std::filesystem::directory_iterator(shared.path());
    return std::distance(std::filesystem::begin(entries), std::filesystem::end(entries));
  };
  std::ptrdiff_t keys = 0;
  for (const int ranks : {2, 3, 2}) {
    CAPTURE(ranks);
    const auto run = ember::testing::run_ranks("collectives_match_hand_computed_values", ranks, options);
    CHECK_MESSAGE(run.succeeded(), run.report());
    // Each run's keys are new ones: the third run (2 ranks, as the first) overwrites none of the
    // first's, which it would read if the names were the same.
    CHECK(keys_in_store() > keys);
    keys = keys_in_store();
  }
}

namespace {

// A TCP port on loopback nobody listens on (the kernel picks it; it stays free for a moment).
int free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  require(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
              ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0,
          "cannot pick a free loopback port");
  ::close(fd);
  return ntohs(address.sin_port);
}

bool accepts_connections(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  const bool connected = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  ::close(fd);
  return connected;
}

}  // namespace

TEST_CASE("ranks meet through a real redis-server on loopback, also when an earlier run's keys are there") {
  if (::access("/usr/bin/redis-server", X_OK) != 0) {
    std::cout << "SKIPPED: redis-server is not installed (Debian's redis-server; tools/dev.sh installs it)" << std::endl;
    return;
  }
  const int port = free_loopback_port();
  const pid_t server = ::fork();
  REQUIRE(server >= 0);
  if (server == 0) {
    const std::string port_text = std::to_string(port);
    ::execl("/usr/bin/redis-server", "redis-server", "--port", port_text.c_str(), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--loglevel", "warning", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  for (int attempt = 0; attempt < 100 && !accepts_connections(port); ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  REQUIRE_MESSAGE(accepts_connections(port), "redis-server did not start on port " << port);
  ember::testing::RanksOptions options;
  options.store = "redis://127.0.0.1:" + std::to_string(port);
  for (const int ranks : {2, 3}) {  // the second run finds the first's keys in the server
    CAPTURE(ranks);
    const auto run = ember::testing::run_ranks("collectives_match_hand_computed_values", ranks, options);
    CHECK_MESSAGE(run.succeeded(), run.report());
  }
  ::kill(server, SIGTERM);
  ::waitpid(server, nullptr, 0);
}

TEST_CASE("collectives on 2 and 3 Gloo ranks match values computed by hand") {
  for (const int ranks : {2, 3}) {
    const auto run = ember::testing::run_ranks("collectives_match_hand_computed_values", ranks);
    INFO(run.report());
    CHECK(run.succeeded());
  }
}

#if EMBER_NCCL
TEST_CASE("NCCL, world of one: collectives match values computed by hand and refuse CPU tensors") {
  if (ember::testing::skip_without_gpu()) return;
  // One GPU is all a test machine has: the scenario runs in this process as a world of one.
  const auto group = init_process_group({.backend = "nccl"});
  REQUIRE(group->device() == Device::cuda(0));
  const TemporaryDirectory directory("ember-test");
  collectives_match_hand_computed_values(group, directory.path());
  const std::string message = ember::testing::error_of([&] { group->all_reduce(zeros({2})); });
  CHECK(message.find("all_reduce (nccl, rank 0 of 1): the tensor [2] f32 cpu must be on cuda:0, the device this "
                     "nccl group serves") != std::string::npos);
}
#endif

TEST_CASE("a group of one needs no launcher, and bad arguments name the collective") {
  const auto group = init_process_group();  // no RANK / WORLD_SIZE here: a world of one
  REQUIRE(group->size() == 1);
  Tensor t = full({4}, 2.0);
  group->all_reduce(t, ReduceOp::avg)->wait();
  CHECK(t.to_vector<float>() == std::vector<float>(4, 2.0f));  // the average over one rank
  auto error_of = [](auto&& call) -> std::string {
    try {
      call();
    } catch (const Error& error) {
      return error.what();
    }
    return "";
  };
  const auto contains = [](const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; };
  const Tensor matrix = zeros({3, 4});
  CHECK(contains(error_of([&] { group->all_reduce(matrix.t()); }), "all_reduce (gloo, rank 0 of 1): the tensor"));
  CHECK(contains(error_of([&] { group->all_reduce(matrix.t()); }), "must be contiguous"));
  CHECK(contains(error_of([&] { group->all_reduce(zeros({2}, {.dtype = DType::i64}), ReduceOp::avg); }),
                 "avg needs a floating tensor"));
  CHECK(contains(error_of([&] { group->reduce_scatter(zeros({2}), zeros({4}, {.dtype = DType::f64})); }),
                 "must share dtype and device"));
  CHECK(contains(error_of([&] { group->reduce_scatter(zeros({2}), zeros({4})); }), "must have counts[0] = 4 elements"));
  CHECK(contains(error_of([&] { group->all_gather(zeros({5}), zeros({5}), {4}); }), "counts add up to 4 elements"));
  CHECK(contains(error_of([&] { group->broadcast(t, 1); }), "root 1 is not a rank"));
  CHECK(contains(error_of([&] { group->all_reduce(Tensor()); }), "undefined"));
#if EMBER_NCCL
  if (!cuda::is_available()) {
    CHECK(contains(error_of([] { init_process_group({.backend = "nccl"}); }),
                   "NcclProcessGroup: rank 0 needs GPU cuda:0 (one GPU per process on each machine: cuda:LOCAL_RANK), "
                   "but this machine has 0 CUDA devices"));
  }
#endif
}

TEST_CASE("a rank that never joins gives the others a clear error within the timeout") {
  const TemporaryDirectory directory("ember-never");
  const auto store = Store::open(directory.url(), std::chrono::milliseconds(1500));
  const auto start = std::chrono::steady_clock::now();
  std::string message;
  try {
    GlooProcessGroup group(store, 0, 2, std::chrono::milliseconds(1500));  // rank 1 never comes
  } catch (const Error& error) {
    message = error.what();
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  INFO(message);
  CHECK(message.find("a rank did not start, or died before joining") != std::string::npos);
  CHECK(seconds < 10);  // the 1.5 s timeout, not a hang
}

RANK_SCENARIO(last_rank_dies_mid_run) {
  // A training-like loop of all-reduces; the last rank dies abruptly at the 5th.
  for (int step = 0; step < 200; ++step) {
    if (step == 5 && group->rank() == group->size() - 1) _exit(3);
    Tensor gradient = full({1000}, 1.0);
    group->all_reduce(gradient, ReduceOp::avg)->wait();
  }
}

RANK_SCENARIO(last_rank_dies_mid_ddp_training) {
  // DDP training of the tiny problem; the last rank dies abruptly before its 5th backward, so
  // the others' bucket all-reduces, started from gradient hooks, never complete.
  const ember::testing::TinyProblem problem = ember::testing::tiny_problem();
  const auto model = ember::testing::tiny_model(100);
  DistributedDataParallel ddp(model->parameters(), model->buffers(), group);
  optim::SGD sgd(model->parameters(), {.lr = 0.1});
  for (int step = 0; step < 200; ++step) {
    if (step == 5 && group->rank() == group->size() - 1) _exit(3);
    sgd.zero_grad();
    ember::testing::loss_on_rows(*model, problem, 0, 12).backward();
    sgd.step();
  }
}

TEST_CASE("killing one rank mid-run makes the others fail with a clear error within the timeout") {
  ember::testing::RanksOptions options;
  options.group_timeout = std::chrono::milliseconds(5000);
  options.stop_others_on_failure = false;  // the survivors must notice by themselves
  for (const auto& [scenario, ranks] : {std::pair{"last_rank_dies_mid_run", 2}, std::pair{"last_rank_dies_mid_run", 3},
                                        std::pair{"last_rank_dies_mid_ddp_training", 2}}) {
    const auto run = ember::testing::run_ranks(scenario, ranks, options);
    INFO(scenario, " on ", ranks, " ranks\n", run.report());
    REQUIRE(run.result.exit_codes.size() == static_cast<std::size_t>(ranks));
    CHECK(run.result.exit_codes.back() == 3);
    for (int rank = 0; rank + 1 < ranks; ++rank) {
      CHECK(run.result.exit_codes[static_cast<std::size_t>(rank)] == 1);  // the scenario's "error:" exit
      const std::string expected = "all_reduce (gloo, rank " + std::to_string(rank) + " of " + std::to_string(ranks) + ")";
      CHECK(run.output[static_cast<std::size_t>(rank)].find(expected) != std::string::npos);
    }
    CHECK(run.seconds < 5 + 10);  // within the 5 s timeout (plus start-up), never a hang
  }
}

#pragma once
// Timings of ember and its peer taken in alternating rounds. On a shared or throttled machine the
// speed of the whole CPU drifts by tens of per cent within minutes; timing ember first and the
// peer a minute later compares two phases of the machine, not two libraries. A bench therefore
// measures, in every round, the machine's limits, ember's rows and then the peer's rows, and
// reports each one's best round beside the median of the per-round ratios (both sides of a ratio
// from the same minute).
#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

namespace ember::bench {

struct Round {
  std::map<std::string, double> limits;    // higher is better (GFLOP/s, GB/s)
  std::map<std::string, double> ember_ms;  // one key per row, the peer's key for the same row
  std::map<std::string, double> peer_ms;   // as the peer printed it; empty without a peer
};

class Rounds {
 public:
  void add(Round round) { rounds_.push_back(std::move(round)); }
  int size() const { return static_cast<int>(rounds_.size()); }

  double best_limit(const std::string& key) const { return best(&Round::limits, key, true); }
  double lowest_limit(const std::string& key) const { return best(&Round::limits, key, false); }
  double best_ember_ms(const std::string& key) const { return best(&Round::ember_ms, key, false); }
  // NaN where no round has the peer's figure.
  double best_peer_ms(const std::string& key) const { return best(&Round::peer_ms, key, false); }

  // Median over the rounds that have both figures of peer ms / ember ms (ember's speed relative to
  // the peer); NaN where none has.
  double median_speed_ratio(const std::string& key) const {
    return median_ratio(&Round::peer_ms, key, &Round::ember_ms, key);
  }
  // Median over the rounds of ms of row `from` / ms of row `to`, both ember's or both the peer's:
  // how much faster `to` runs than `from` in the same minute; NaN where no round has both.
  double median_ember_speedup(const std::string& from, const std::string& to) const {
    return median_ratio(&Round::ember_ms, from, &Round::ember_ms, to);
  }
  double median_peer_speedup(const std::string& from, const std::string& to) const {
    return median_ratio(&Round::peer_ms, from, &Round::peer_ms, to);
  }

 private:
  // The largest (`largest`) or smallest value of `key` in the rounds' `field`; NaN if absent.
  double best(std::map<std::string, double> Round::*field, const std::string& key, bool largest) const {
    double found = std::nan("");
    for (const Round& round : rounds_) {
      const auto value = (round.*field).find(key);
      if (value == (round.*field).end()) continue;
      if (std::isnan(found) || (largest ? value->second > found : value->second < found)) found = value->second;
    }
    return found;
  }

  // The median over the rounds that have both values of (round.*top)[top_key] /
  // (round.*bottom)[bottom_key]; NaN where none has.
  double median_ratio(std::map<std::string, double> Round::*top, const std::string& top_key,
                      std::map<std::string, double> Round::*bottom, const std::string& bottom_key) const {
    std::vector<double> ratios;
    for (const Round& round : rounds_) {
      const auto a = (round.*top).find(top_key), b = (round.*bottom).find(bottom_key);
      if (a != (round.*top).end() && b != (round.*bottom).end()) ratios.push_back(a->second / b->second);
    }
    if (ratios.empty()) return std::nan("");
    std::sort(ratios.begin(), ratios.end());
    const std::size_t middle = ratios.size() / 2;
    return ratios.size() % 2 == 1 ? ratios[middle] : 0.5 * (ratios[middle - 1] + ratios[middle]);
  }

  std::vector<Round> rounds_;
};

}  // namespace ember::bench

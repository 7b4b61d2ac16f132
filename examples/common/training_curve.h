#pragma once
// A training curve: one row of values per epoch, written to <directory>/curve.dat and, when
// gnuplot is installed, drawn into <directory>/training_curve.png (otherwise the message says
// how to get the PNG).
#include <string>
#include <vector>

namespace examples {

class TrainingCurve {
 public:
  // One panel per list of column names; a row holds the values of every panel's columns in order.
  explicit TrainingCurve(std::vector<std::vector<std::string>> panels);
  void add(std::vector<double> row);
  // Writes the data and the plot; returns a line saying where they are.
  std::string plot(const std::string& directory) const;

 private:
  std::vector<std::vector<std::string>> panels_;
  std::vector<std::vector<double>> rows_;
};

}  // namespace examples

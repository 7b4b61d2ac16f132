#include "training_curve.h"

#include <cstdlib>
#include <sstream>

#include "core/error.h"
#include "io/atomic_file.h"

namespace examples {

TrainingCurve::TrainingCurve(std::vector<std::vector<std::string>> panels) : panels_(std::move(panels)) {}

void TrainingCurve::add(std::vector<double> row) {
  std::size_t columns = 0;
  for (const auto& panel : panels_) columns += panel.size();
  EMBER_CHECK(row.size() == columns, "TrainingCurve: a row needs ", columns, " values, got ", row.size());
  rows_.push_back(std::move(row));
}

std::string TrainingCurve::plot(const std::string& directory) const {
  const std::string data_path = directory + "/curve.dat", png = directory + "/training_curve.png";
  std::ostringstream data;
  for (std::size_t epoch = 0; epoch < rows_.size(); ++epoch) {
    data << epoch;
    for (double value : rows_[epoch]) data << ' ' << value;
    data << '\n';
  }
  ember::io::write_text_atomically(data_path, "TrainingCurve", data.str());
  if (std::system("command -v gnuplot > /dev/null 2>&1") != 0) {
    return "training curve: " + data_path + " (install gnuplot, apt-get install gnuplot-nox, for a PNG)";
  }
  std::ostringstream script;
  script << "set terminal png size " << 450 * panels_.size() << ",400; set output '" << png
         << "'; set multiplot layout 1," << panels_.size() << "; set xlabel 'epoch'; ";
  int column = 2;  // gnuplot counts from 1, and column 1 is the epoch
  for (const auto& panel : panels_) {
    script << "plot ";
    for (std::size_t k = 0; k < panel.size(); ++k) {
      script << (k == 0 ? "'" + data_path + "'" : std::string(", ''")) << " using 1:" << column++
             << " with lines title '" << panel[k] << "'";
    }
    script << "; ";
  }
  if (std::system(("gnuplot -e \"" + script.str() + "\"").c_str()) != 0) return "training curve: " + data_path;
  return "training curve: " + png;
}

}  // namespace examples

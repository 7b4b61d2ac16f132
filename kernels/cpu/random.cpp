#include "kernels/random.h"

#include "kernels/cpu/parallel.h"
#include "kernels/philox.h"
#include "kernels/dtype.h"

namespace ember::kernels::cpu {

void fill_uniform(DType dtype, std::int64_t n, void* out, std::uint64_t seed, std::uint64_t offset, double low,
                  double high) {
  dispatch_floating(dtype, "uniform", [&]<class T>() {
    using C = compute_t<T>;
    T* y = static_cast<T*>(out);
    parallel_for(n, 16, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t i = begin; i < end; ++i) {
        const C u = static_cast<C>(philox_uniform(seed, offset, static_cast<std::uint64_t>(i)));
        y[i] = static_cast<T>(static_cast<C>(low) + static_cast<C>(high - low) * u);
      }
    });
  });
}

void fill_normal(DType dtype, std::int64_t n, void* out, std::uint64_t seed, std::uint64_t offset, double mean,
                 double std) {
  dispatch_floating(dtype, "normal", [&]<class T>() {
    using C = compute_t<T>;
    T* y = static_cast<T*>(out);
    parallel_for(n, 32, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t i = begin; i < end; ++i) {
        const C z = static_cast<C>(philox_normal(seed, offset, static_cast<std::uint64_t>(i)));
        y[i] = static_cast<T>(static_cast<C>(mean) + static_cast<C>(std) * z);
      }
    });
  });
}

}  // namespace ember::kernels::cpu

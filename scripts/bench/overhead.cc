// Raw C++ baseline for scripts/bench/overhead: the same loops as the TS and Python sides,
// on the same libtorch, one thread. Prints one JSON line: microseconds per iteration.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/TensorIndexing.h>
#include <torch/csrc/autograd/custom_function.h>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

// tanh with a hand-written backward: a custom autograd Function, as the TS and Python sides write one.
struct TanhFn : public torch::autograd::Function<TanhFn> {
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x) {
    at::Tensor y = x.tanh();
    ctx->save_for_backward({y});
    return {y};
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list g) {
    at::Tensor y = ctx->get_saved_variables()[0];
    return {g[0] * (1 - y * y)};
  }
};

template <typename F>
static double usPerIter(int n, F f) {
  for (int i = 0; i < n / 10; ++i) f();
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) f();
  auto t1 = std::chrono::steady_clock::now();
  return std::chrono::duration<double, std::micro>(t1 - t0).count() / n;
}

int main(int argc, char** argv) {
  int n = argc > 1 ? std::atoi(argv[1]) : 200000;
  at::set_num_threads(1);
  at::manual_seed(0);
  at::Tensor a = at::randn({16}), b = at::randn({16});
  double add = usPerIter(n, [&] { at::Tensor c = at::add(a, b); });
  // A tensor times a number (C++'s at::mul(Tensor, Scalar)).
  double mulNumber = usPerIter(n, [&] { at::Tensor c = a.mul(2.5); });
  // The same op with results freed in batches of 100, as tidy() frees a scope.
  std::vector<at::Tensor> batch;
  batch.reserve(100);
  double addBatch = usPerIter(n / 100, [&] {
    for (int i = 0; i < 100; ++i) batch.push_back(at::add(a, b));
    batch.clear();
  }) / 100;
  at::Tensor x = at::randn({4, 4}).requires_grad_(true), w = at::randn({4, 4});
  double step = usPerIter(n / 10, [&] {
    at::Tensor y = x.matmul(w).tanh().sum();
    y.backward();
    at::Tensor g = x.grad();
  });
  // The same step with tanh as a custom Function.
  double fnStep = usPerIter(n / 10, [&] {
    at::Tensor y = TanhFn::apply(x.matmul(w))[0].sum();
    y.backward();
    at::Tensor g = x.grad();
  });
  // Python-style indexing, x[1:3, None, ::2]: a view, freed at once.
  using namespace at::indexing;
  at::Tensor m = at::randn({8, 16});
  double index = usPerIter(n, [&] { at::Tensor v = m.index({Slice(1, 3), None, Slice(None, None, 2)}); });
  std::printf("{\"add_us\": %.4f, \"add_batch_us\": %.4f, \"step_us\": %.4f, \"fn_step_us\": %.4f, \"index_us\": %.4f, \"mul_number_us\": %.4f}\n", add, addBatch, step, fnStep, index, mulNumber);
  return 0;
}

// pack_infer: load a packager artifact with LibTorch alone, check it against the Keras reference, time it.
//
//   pack_infer ARTIFACT_DIR [--iters N] [--threads N] [--device cpu|cuda]
//
// Reads ARTIFACT_DIR/model.pt (TorchScript, manifest.json embedded) and ARTIFACT_DIR/reference.pt (a
// TorchScript module whose buffers input_0.. and output_0.. hold one input and Keras's output for it).
// Prints the declared inputs/outputs, `max_abs_err=...` against Keras and `p50_us=... p90_us=...`.
// Exit: 0 within the manifest's tolerance (|out - ref| <= atol + rtol * |ref|), 1 outside it,
//       2 when the artifact or an option is unusable (one line on stderr).

#include <ATen/Parallel.h>  // at::set_num_threads (not pulled in by script.h)
#include <torch/script.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "manifest_json.h"

namespace {

using manifest_json::Json;
using manifest_json::JsonReader;

constexpr int kWithinTolerance = 0;
constexpr int kOutsideTolerance = 1;
constexpr int kUnusable = 2;
constexpr int kWarmup = 5;

[[noreturn]] void fail(const std::string& message) {
  std::cerr << "pack_infer: error: " << message << "\n";
  std::exit(kUnusable);
}

// c10::Error::what() carries a C++ backtrace; a user needs the first line of the message.
std::string first_line(const std::exception& e) {
  const auto* torch_error = dynamic_cast<const c10::Error*>(&e);
  std::string text = torch_error ? torch_error->what_without_backtrace() : e.what();
  return text.substr(0, text.find('\n'));
}

// "[?, 100, 3]": a manifest shape, null (dynamic) shown as '?'.
std::string shape_text(const Json& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.items.size(); ++i) {
    const Json& dim = shape.items[i];
    out += (i ? ", " : "") + (dim.kind == Json::Number ? std::to_string(static_cast<long long>(dim.number)) : "?");
  }
  return out + "]";
}

void print_declared(const char* role, const Json& tensors) {
  for (size_t i = 0; i < tensors.items.size(); ++i) {
    const Json& t = tensors.items[i];
    std::cout << role << " " << i << ": " << t["name"].text << " " << shape_text(t["shape"]) << " "
              << t["dtype"].text << "\n";
  }
}

// ---------------------------------------------------------------------------------------------------

struct Options {
  std::string artifact;
  int iters = 100;
  int threads = 0;  // 0: LibTorch's default
  std::string device = "cpu";
};

int positive_int(const std::string& option, const char* value) {
  char* end = nullptr;
  long n = std::strtol(value, &end, 10);
  if (*value == '\0' || *end != '\0' || n < 1 || n > 1000000)
    fail(option + " needs a positive integer, not '" + value + "'");
  return static_cast<int>(n);
}

Options parse_args(int argc, char** argv) {
  const std::string usage = "usage: pack_infer ARTIFACT_DIR [--iters N] [--threads N] [--device cpu|cuda]";
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::cout << usage << "\n";
      std::exit(0);
    }
    bool has_value = i + 1 < argc;
    if (arg == "--iters" && has_value) {
      o.iters = positive_int(arg, argv[++i]);
    } else if (arg == "--threads" && has_value) {
      o.threads = positive_int(arg, argv[++i]);
    } else if (arg == "--device" && has_value) {
      o.device = argv[++i];
      if (o.device != "cpu" && o.device != "cuda") fail("--device must be cpu or cuda, not '" + o.device + "'");
    } else if (arg.rfind("-", 0) != 0 && o.artifact.empty()) {
      o.artifact = arg;
    } else {
      fail("unexpected argument '" + arg + "'; " + usage);
    }
  }
  if (o.artifact.empty()) fail(usage);
  return o;
}

// A model returns one tensor, or a tuple (or list) of them in Keras output order.
std::vector<at::Tensor> as_tensors(const c10::IValue& result) {
  if (result.isTensor()) return {result.toTensor()};
  std::vector<at::Tensor> out;
  if (result.isTuple()) {
    for (const auto& element : result.toTupleRef().elements()) out.push_back(element.toTensor());
  } else {
    for (const auto& element : result.toListRef()) out.push_back(element.toTensor());
  }
  return out;
}

// reference.pt keeps its tensors as buffers; attr() reads them by name.
std::vector<at::Tensor> named_buffers(const torch::jit::Module& sample, const std::string& prefix) {
  std::vector<at::Tensor> out;
  for (size_t i = 0; sample.hasattr(prefix + std::to_string(i)); ++i)
    out.push_back(sample.attr(prefix + std::to_string(i)).toTensor());
  return out;
}

struct Comparison {
  double max_abs_err = 0;
  bool passed = true;
  std::string note;
};

// The same rule as packager/validate.py: every finite element within atol + rtol * |ref|; non-finite
// elements must sit in the same places. Computed in float64.
Comparison compare(const std::vector<at::Tensor>& got, const std::vector<at::Tensor>& want, double atol, double rtol) {
  const double inf = std::numeric_limits<double>::infinity();
  if (got.size() != want.size())
    return {inf, false, std::to_string(got.size()) + " outputs, Keras has " + std::to_string(want.size())};
  Comparison result;
  for (size_t i = 0; i < got.size(); ++i) {
    if (got[i].sizes() != want[i].sizes())
      return {inf, false, "output " + std::to_string(i) + " has shape " + c10::str(got[i].sizes()) + ", Keras " +
                              c10::str(want[i].sizes())};
    at::Tensor out = got[i].to(at::kCPU, at::kDouble), ref = want[i].to(at::kCPU, at::kDouble);
    at::Tensor finite = ref.isfinite();
    if (!out.isfinite().equal(finite))
      return {inf, false, "output " + std::to_string(i) + ": non-finite values differ"};
    at::Tensor diff = (out - ref).abs().masked_select(finite);
    if (diff.numel() == 0) continue;
    at::Tensor bound = (ref.abs() * rtol + atol).masked_select(finite);
    result.max_abs_err = std::max(result.max_abs_err, diff.max().item<double>());
    result.passed = result.passed && (diff <= bound).all().item<bool>();
  }
  return result;
}

// Linear interpolation between order statistics, as numpy.percentile does.
double percentile(std::vector<double> values, double q) {
  std::sort(values.begin(), values.end());
  double pos = q / 100.0 * (values.size() - 1);
  size_t lo = static_cast<size_t>(pos), hi = std::min(lo + 1, values.size() - 1);
  return values[lo] + (values[hi] - values[lo]) * (pos - lo);
}

// Microseconds per forward call after kWarmup untimed calls. CUDA runs asynchronously, so each timed
// call waits for the device to finish.
std::vector<double> time_forward(torch::jit::Module& model, const std::vector<c10::IValue>& inputs, int iters,
                                 const c10::Device& device) {
  auto call = [&] {
    model.forward(inputs);
    if (device.is_cuda()) at::accelerator::synchronizeDevice(device.index());
  };
  for (int i = 0; i < kWarmup; ++i) call();
  std::vector<double> us;
  for (int i = 0; i < iters; ++i) {
    auto start = std::chrono::steady_clock::now();
    call();
    us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count());
  }
  return us;
}

// Shortest text that reads back as the same double (Python's repr does the same).
std::string exact(double value) {
  char buffer[64];
  auto end = std::to_chars(buffer, buffer + sizeof buffer, value).ptr;
  return std::string(buffer, end);
}

}  // namespace

int main(int argc, char** argv) {
  const Options opt = parse_args(argc, argv);
  if (opt.device == "cuda" && !at::hasCUDA()) fail("--device cuda: this LibTorch build sees no CUDA device");
  const c10::Device device(opt.device == "cuda" ? "cuda:0" : "cpu");
  if (opt.threads > 0) at::set_num_threads(opt.threads);

  // Load the model; the manifest travels inside model.pt as an "extra file" that load() fills in.
  const std::string model_path = opt.artifact + "/model.pt", reference_path = opt.artifact + "/reference.pt";
  torch::jit::ExtraFilesMap extra{{"manifest.json", ""}};
  torch::jit::Module model, sample;
  Json manifest;
  try {
    model = torch::jit::load(model_path, device, extra);
  } catch (const std::exception& e) {
    fail("cannot load " + model_path + ": " + first_line(e));
  }
  try {
    if (extra["manifest.json"].empty()) throw std::runtime_error("model.pt has no manifest.json embedded");
    manifest = JsonReader(extra["manifest.json"]).document();
    if (manifest["parity"]["atol"].kind != Json::Number || manifest["parity"]["rtol"].kind != Json::Number)
      throw std::runtime_error("manifest.json has no parity.atol / parity.rtol");
    sample = torch::jit::load(reference_path, at::kCPU);
  } catch (const std::exception& e) {
    fail("cannot read the artifact in " + opt.artifact + ": " + first_line(e));
  }
  model.eval();

  std::cout << "artifact " << opt.artifact << ": model " << manifest["model_name"].text << ", exported with torch "
            << manifest["torch_version"].text << " (" << manifest["export"]["method"].text << ")\n";
  print_declared("input ", manifest["inputs"]);
  print_declared("output", manifest["outputs"]);

  const std::vector<at::Tensor> reference_in = named_buffers(sample, "input_");
  const std::vector<at::Tensor> reference_out = named_buffers(sample, "output_");
  if (reference_in.size() != manifest["inputs"].items.size() || reference_out.empty())
    fail(reference_path + " holds " + std::to_string(reference_in.size()) + " inputs and " +
         std::to_string(reference_out.size()) + " outputs; the manifest declares " +
         std::to_string(manifest["inputs"].items.size()) + " inputs");
  std::vector<c10::IValue> inputs;
  for (const at::Tensor& t : reference_in) inputs.emplace_back(t.to(device));
  std::cout << "reference sample: input shapes";
  for (const at::Tensor& t : reference_in) std::cout << " " << t.sizes();
  std::cout << "\ndevice=" << opt.device << " threads=" << at::get_num_threads() << " iters=" << opt.iters << "\n";

  // InferenceMode: no autograd bookkeeping (the C++ twin of torch.inference_mode()).
  c10::InferenceMode inference;
  std::vector<at::Tensor> outputs;
  try {
    outputs = as_tensors(model.forward(inputs));
  } catch (const std::exception& e) {
    fail(model_path + " failed on the reference sample: " + first_line(e));
  }

  const double atol = manifest["parity"]["atol"].number, rtol = manifest["parity"]["rtol"].number;
  const Comparison parity = compare(outputs, reference_out, atol, rtol);
  std::cout << "max_abs_err=" << exact(parity.max_abs_err) << " atol=" << atol << " rtol=" << rtol
            << (parity.passed ? " within tolerance" : " OUTSIDE tolerance")
            << (parity.note.empty() ? "" : " (" + parity.note + ")") << "\n";

  const std::vector<double> us = time_forward(model, inputs, opt.iters, device);
  std::cout << std::fixed << std::setprecision(1) << "p50_us=" << percentile(us, 50)
            << " p90_us=" << percentile(us, 90) << "\n";
  return parity.passed ? kWithinTolerance : kOutsideTolerance;
}

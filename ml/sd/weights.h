// The tensors of a Stable Diffusion checkpoint (or a shape-only inventory of
// one), by full name, with a record of which names a component took.
//
// Components (text encoders, UNet, VAE) read their sizes from shapes() and
// take() every parameter they use while they are built, never during a
// forward pass: once a model is built, unused() is exactly the set of keys no
// component wanted, which the loader reports (a key left over means a layout
// this code does not understand, and is an error unless it is a known buffer).
//
// taken() keeps, by name, the very tensors take() handed out (the same
// storage the components hold), so a caller that outlives this Weights (the
// SdModel's `params`) can reach every parameter by its LDM name and edit it
// in place (LoRA merging) with the components seeing the change.
//
// Invariants: names are unique; float tensors are in the compute dtype the
// loader chose (float32 on CPU), integer buffers as stored; a
// shape-only Weights (from_shapes) holds tensors on the meta device, so
// building a full-size model from a key inventory costs no memory.
#pragma once
#include <torch/torch.h>

#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace atelier::ml::sd {

// A checkpoint that does not fit the layout: the message names the source and
// the tensor ("model.safetensors: first_stage_model.decoder.conv_in.weight:
// expected shape [64, 4, 3, 3], found [64, 8, 3, 3]").
class WeightError : public std::runtime_error {
 public:
  using runtime_error::runtime_error;
};

class Weights {
 public:
  Weights(std::map<std::string, torch::Tensor> tensors, std::string source);
  // Meta tensors of the given shapes (key inventories: no data).
  static Weights from_shapes(const std::map<std::string, std::vector<int64_t>>& shapes,
                             std::string source);

  const std::string& source() const { return source_; }
  bool has(const std::string& name) const { return tensors_.count(name) > 0; }
  // The shape of a tensor; throws WeightError naming it when absent.
  std::vector<int64_t> shape(const std::string& name) const;
  // Takes a tensor (marks it used). Throws WeightError when it is absent or,
  // if `expect` is given, when its shape differs.
  torch::Tensor take(const std::string& name, const std::vector<int64_t>& expect = {});
  // Marks a name used without reading it (buffers a component recomputes).
  void skip(const std::string& name);
  // Names under a prefix, sorted (for counting blocks and layers).
  std::vector<std::string> names_under(const std::string& prefix) const;
  // Highest N + 1 such that prefix + N + "." starts some name (0 if none).
  int count_indexed(const std::string& prefix) const;
  // Names not taken or skipped, sorted.
  std::vector<std::string> unused() const;
  // Every tensor take() returned, by name (skipped buffers are not in it):
  // handles to the same storage, not copies.
  std::map<std::string, torch::Tensor> taken() const;
  // True for a shape-only inventory (meta tensors, no data).
  bool is_meta() const { return meta_; }

 private:
  std::map<std::string, torch::Tensor> tensors_;
  std::set<std::string> used_;   // taken or skipped
  std::set<std::string> taken_;  // taken only
  std::string source_;
  bool meta_ = false;
};

// "[64, 4, 3, 3]"
std::string shape_text(const std::vector<int64_t>& shape);

}  // namespace atelier::ml::sd

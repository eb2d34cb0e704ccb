#include "input_resolver.h"

#include <functional>

#include "common/errors.h"

namespace atelier {
namespace {

JobInput input_of(const AssetRow& a, const AssetStore& files, const std::string& role) {
  return {a.sha256, files.path_for(a.sha256, a.ext).string(), a.media_type, role};
}

json describe(const JobInput& in) {
  return {{"sha256", in.sha256}, {"path", in.path}, {"media_type", in.media_type}};
}

AssetRow asset_or_throw(Store& store, const std::string& sha, const std::string& why) {
  auto a = store.get_asset(sha);
  if (!a) throw InputError(why + ": asset " + sha + " is not in the asset store");
  return *a;
}

}  // namespace

void resolve_inputs(JobContext& ctx, Store& store, const AssetStore& files) {
  json params = ctx.params();
  std::vector<JobInput> inputs;
  if (params.contains("_inputs")) {
    for (const json& sha : params["_inputs"])
      inputs.push_back(
          input_of(asset_or_throw(store, sha.get<std::string>(), "input"), files, "input"));
  } else {
    for (const AssetRow& a : store.dependency_outputs(ctx.job_id()))
      inputs.push_back(input_of(a, files, "input"));
  }
  // A ${stage.assets|model} reference, anywhere inside a param's value (e.g.
  // loras: [{model: ${lora.model}, scale: 0.8}]), becomes the assets it names.
  std::function<void(json&, const std::string&)> resolve_refs = [&](json& v,
                                                                    const std::string& param) {
    if (v.is_object() && v.contains("$ref")) {
      const std::string ref = v["$ref"].get<std::string>();
      const auto dot = ref.rfind('.');
      const std::string stage = ref.substr(0, dot), field = ref.substr(dot + 1);
      std::vector<JobInput> found;
      for (const StageJob& j : store.stage_jobs(ctx.lease().run_id, stage)) {
        if (j.state != "succeeded") continue;
        for (const std::string& sha : j.outputs)
          found.push_back(input_of(asset_or_throw(store, sha, "${" + ref + "}"), files, param));
      }
      if (field == "model") {
        // A training stage also writes reports beside its weights: the model is
        // the one safetensors output.
        std::vector<JobInput> weights;
        for (const JobInput& in : found)
          if (in.media_type == "application/vnd.safetensors") weights.push_back(in);
        found = std::move(weights);
        if (found.size() != 1)
          throw InputError("param '" + param + "': ${" + ref +
                           "} expects exactly one model (safetensors) output of stage '" + stage +
                           "', found " + std::to_string(found.size()));
      }
      json resolved = json::array();
      for (const JobInput& in : found) resolved.push_back(describe(in));
      v = field == "model" ? resolved[0] : resolved;
      inputs.insert(inputs.end(), found.begin(), found.end());
    } else if (v.is_object() || v.is_array()) {
      for (auto& child : v) resolve_refs(child, param);
    }
  };
  for (auto it = params.begin(); it != params.end(); ++it) {
    json& v = it.value();
    if (v.is_array() && !v.empty() && v[0].is_object() && v[0].contains("sha256") &&
        v[0].contains("source")) {
      for (json& f : v) {
        JobInput in = input_of(asset_or_throw(store, f["sha256"].get<std::string>(), it.key()),
                               files, it.key());
        f["path"] = in.path;
        inputs.push_back(std::move(in));
      }
    } else {
      resolve_refs(v, it.key());
    }
  }
  for (const JobInput& in : inputs) ctx.add_input(in.sha256, in.role);
  ctx.set_params(std::move(params));
  ctx.set_inputs(std::move(inputs));
}

}  // namespace atelier

// Lineage as a tree, read from the job database: upstream from an asset (what made
// it, from what, back to imported files and shipped models) and downstream (every
// asset made from it, through every job that used it). Nodes are assets, models
// that are not assets (shipped or user weights) and jobs; each asset carries its
// check verdicts. The graph is a DAG that shares nodes (a LoRA's training image is
// also its caption's source): a node is expanded where it first appears and marked
// `repeated` elsewhere, so the tree stays finite and each fact is shown once.
// Also the one-level view of an asset's inputs that the run report and export
// manifests show, so that both describe a model or an imported file the same way.
#pragma once
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "orchestrator/store.h"

namespace atelier::provenance {

struct LineageNode {
  std::string type;  // asset, model, job
  std::string id;    // sha256, or "j12"
  std::string role;  // how the parent relates to it: input, lora, training_image, made_by, ...
  json info = json::object();
  json checks = json::array();  // assets: {check, verdict, gate, quarantined, label?}
  bool repeated = false;
  std::vector<LineageNode> children;
};

// Throws NotFound unless `sha256` is an asset or a model of the store.
LineageNode trace_upstream(Store& store, const std::string& sha256);
LineageNode trace_downstream(Store& store, const std::string& sha256);

json lineage_json(const LineageNode& n);
void print_lineage(std::ostream& out, const LineageNode& n, int depth = 0);

// Every asset node below `n` (not `n` itself), each once, in tree order.
std::vector<const LineageNode*> lineage_assets(const LineageNode& n);

// W3C PROV-JSON of the tree: entities (assets, models), activities (jobs), an agent
// (Atelier, and who submitted each run), used, wasGeneratedBy, wasDerivedFrom and
// wasAssociatedWith.
json prov_json(const LineageNode& root);

// One recorded input: a model when its sha256 is a model's (then `asset` is not
// looked up), else the asset row when there is one (an imported file has a
// source_path; an output of another job has a job_id), else neither (an input
// whose row the retention cleaner removed).
struct InputFact {
  std::string sha256, role;
  std::optional<ModelRow> model;
  std::optional<AssetRow> asset;
};
InputFact describe_input(Store& store, const InputRef& in);
// [{source, licence}] for every import of an asset's bytes (shown where there
// is more than one: the same bytes brought in under two licences).
json imports_json(const std::vector<AssetImport>& imports);
// An asset's inputs one level up: its job's inputs, then what it was made from
// (asset_sources), each (sha256, role) once, in that order.
std::vector<InputFact> direct_inputs(Store& store, const std::string& sha256, int64_t job_id);

}  // namespace atelier::provenance

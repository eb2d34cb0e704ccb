// The `atelier` subcommands: each parses nothing itself (cli_main.cpp does) and
// holds no business logic; they call the orchestrator, pipelines and workers
// libraries and format results. Each returns the process exit code.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "kinds/generate.h"
#include "kinds/train_base.h"
#include "kinds/train_lora.h"
#include "media/png_io.h"
#include "orchestrator/store.h"
#include "orchestrator/workspace.h"
#include "provenance/verify_policy.h"

namespace atelier::cli {

struct Globals {
  std::optional<std::string> workspace;
  bool json = false;
};

struct SubmitArgs {
  std::string spec;
  std::vector<std::string> sets;
  std::optional<std::string> key;
  bool dry_run = false;
  std::string workers;  // run only: "kind=N,..."
};

// The ML commands' arguments: the kind's typed parameters (kinds/), read from
// the flags its declaration makes, and what only the command has.
struct TrainBaseArgs {
  TrainBaseParams params;
  bool named = false;       // --name given: else the model is named after --out
  std::string output;       // default: models/NAME.safetensors
  std::string checkpoints;  // default: OUTPUT with .ckpt
  int threads = 0;
  bool fresh = false;
  std::string command_line;
};

struct TrainCaptionerArgs {
  std::string output = "models/emoji-captioner-32.safetensors";
  std::string checkpoints;  // default: OUTPUT with .ckpt
  int epochs = 40, width = 32, batch = 128, threads = 0, limit_images = 0;
  std::vector<std::string> styles = {"twitter"};
  double lr = 3e-3;
  uint64_t seed = 0;
  bool fresh = false;
  std::string command_line;
};

struct TrainLoraArgs {
  TrainLoraParams params;
  std::string output, checkpoints;
  int threads = 0;
  bool fresh = false;
};

struct GenerateArgs {
  GenerateParams params;                            // loras: NAME or NAME:SCALE
  nlohmann::json given = nlohmann::json::object();  // the parameters given as flags
  std::string out = ".", prefix = "image_";
  int threads = 0;
};

struct CheckArgs {
  std::vector<std::string> files;
  std::string terms;              // a JSON file of term rules
  std::string training = "warn";  // verdict for a training-image match: warn, fail, off
  std::string bias_chart;         // where to write the bias chart PNG
  bool bias = false, no_copyright = false;
};

struct ExportArgs {
  std::string run, dir;
  std::string name = "{stage}_{job}_{index}";
  bool include_quarantined = false;
};

struct ReportArgs {
  std::string run;
  std::optional<std::string> out;  // default <workspace>/reports/r<ID>.html
};

struct ProvenanceArgs {
  std::string target, used_by;
  std::string format = "text";  // text, json, prov-json
};

struct VerifyArgs {
  std::string file;
  bool regenerate = false;  // re-run the recorded generation (atelier-ml)
};

// atelier-ml beside this binary: the one that links libtorch and runs the ML
// kinds and commands (`generate`, `train-base`, `train-captioner`).
std::string ml_binary_path();
// In `atelier`: replaces this process with atelier-ml and the same arguments.
[[noreturn]] void exec_ml_binary(char** argv);
extern bool g_is_ml_binary;

// What only atelier-ml can run (ml_main.cpp fills it); in `atelier` it is
// empty and these commands are handed to atelier-ml.
struct MlCommands {
  int (*train_base)(const Globals&, const TrainBaseArgs&) = nullptr;
  int (*train_captioner)(const Globals&, const TrainCaptionerArgs&) = nullptr;
  int (*eval_captioner)(const Globals&, const std::string& model) = nullptr;
  int (*train_lora)(const Globals&, const TrainLoraArgs&) = nullptr;
  int (*generate)(const Globals&, const GenerateArgs&) = nullptr;
  int (*check)(const Globals&, const CheckArgs&) = nullptr;
  int (*registry_add)(const Globals&, const std::string& dir, const std::string& label) = nullptr;
  int (*registry_list)(const Globals&) = nullptr;
  int (*model_add)(const Globals&, const std::string& file, const std::string& name) = nullptr;
  // What verify and provenance borrow: the redraw of `verify --regenerate`
  // (cmd_regenerate.cpp) and OpenCV's decoders for files other than PNG (at
  // reduced size, for hashing: media::read_image_reduced).
  provenance::Regenerated (*regenerate)(const nlohmann::json& manifest, const Workspace& ws,
                                        Store& store) = nullptr;
  media::Image (*decode_image)(const std::filesystem::path& file) = nullptr;
};
// This process's ML commands (empty in `atelier`), as cli_main was given them.
const MlCommands& ml_commands();
// Both binaries' main: parses, runs the command, maps errors to exit codes.
int cli_main(int argc, char** argv, const MlCommands& ml);

int cmd_kinds(const Globals& g);
int cmd_init(const Globals& g, const std::optional<std::string>& dir,
             const std::optional<std::string>& db, const std::optional<std::string>& assets);
int cmd_validate(const Globals& g, const SubmitArgs& a);
int cmd_submit(const Globals& g, const SubmitArgs& a);
int cmd_run(const Globals& g, const SubmitArgs& a);
int cmd_status(const Globals& g, const std::optional<std::string>& run);
int cmd_jobs(const Globals& g, const std::optional<std::string>& run,
             const std::optional<std::string>& state, const std::optional<std::string>& kind);
int cmd_logs(const Globals& g, const std::string& job);
int cmd_cancel(const Globals& g, const std::string& target);
int cmd_retry(const Globals& g, const std::string& target);
int cmd_pause(const Globals& g, const std::string& kind, bool paused);
int cmd_assets(const Globals& g, const std::optional<std::string>& run);
int cmd_train_base(const Globals& g, const TrainBaseArgs& a);
int cmd_train_captioner(const Globals& g, const TrainCaptionerArgs& a);
int cmd_check(const Globals& g, const CheckArgs& a);
int cmd_export(const Globals& g, const ExportArgs& a);
int cmd_report(const Globals& g, const ReportArgs& a);
// argv: handed to atelier-ml when a file needs OpenCV's codecs to be traced.
int cmd_provenance(const Globals& g, const ProvenanceArgs& a, char** argv);
int cmd_registry_add(const Globals& g, const std::string& dir, const std::string& label);
int cmd_registry_list(const Globals& g);
int cmd_model_add(const Globals& g, const std::string& file, const std::string& name);
int cmd_model_list(const Globals& g);
// {name, sha256, short_hash, kind, arch, prediction, path}
nlohmann::json model_row_json(const ModelRow& m);
int cmd_eval_captioner(const Globals& g, const std::string& model);
int cmd_train_lora(const Globals& g, const TrainLoraArgs& a);
int cmd_generate(const Globals& g, const GenerateArgs& a);
// Exit 0 valid, 1 a check failed, 2 unreadable input (cli/cmd_verify.cpp).
int cmd_verify(const Globals& g, const VerifyArgs& a);
int cmd_key_export(const Globals& g, const std::optional<std::string>& out);
int cmd_key_import(const Globals& g, const std::string& file, const std::string& label);
int cmd_key_list(const Globals& g);
int cmd_example_data(const Globals& g, const std::string& dir);
int cmd_worker(const Globals& g, const std::string& kinds, const std::optional<std::string>& db,
               const std::optional<std::string>& assets, int slot_fd);

}  // namespace atelier::cli

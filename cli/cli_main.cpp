// The command line of both binaries: argument parsing and the process edge,
// where exceptions become one clear message and the exit codes of DESIGN.md s.7
// (0 ok, 1 the thing asked about failed, 2 usage / validation / bad input).
// Compiled once: `atelier` (light_main.cpp) passes no ML commands and hands
// those to atelier-ml; `atelier-ml` (ml_main.cpp) passes them.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <iostream>

#include "commands.h"
#include "common/errors.h"
#include "daemon_commands.h"
#include "kind_flags.h"
#include "kinds/catalog.h"
#include "kinds/generate.h"
#include "kinds/train_base.h"
#include "kinds/train_lora.h"
#include "store_commands.h"

bool atelier::cli::g_is_ml_binary = false;

namespace atelier::cli {

namespace {
MlCommands g_ml;
}  // namespace

const MlCommands& ml_commands() {
  return g_ml;
}

int cli_main(int argc, char** argv, const MlCommands& ml) {
  g_is_ml_binary = ml.generate != nullptr;
  g_ml = ml;
  CLI::App app{"Atelier: batch orchestrator for AI-generated marketing content", "atelier"};
  app.require_subcommand(1);
  app.fallthrough();  // -w and --json may also follow the subcommand
  Globals g;
  app.add_option("-w,--workspace", g.workspace,
                 "workspace folder (default $ATELIER_WORKSPACE, else .)");
  app.add_flag("--json", g.json, "machine-readable output");
  app.set_version_flag("--version", "atelier 0.1.0");

  std::optional<std::string> init_dir;
  auto* init = app.add_subcommand("init", "create a workspace (config, job database, asset store)");
  init->add_option("DIR", init_dir, "folder (default: the workspace)");
  std::optional<std::string> init_db, init_assets;
  init->add_option("--db", init_db,
                   "job database: sqlite:PATH (default sqlite:atelier.db) or postgresql://...");
  init->add_option("--assets", init_assets,
                   "asset store folder (default: assets); a shared path when workers run on "
                   "other hosts");

  SubmitArgs sa;
  auto add_spec = [&](CLI::App* c, bool with_key) {
    c->add_option("SPEC", sa.spec, "pipeline spec (YAML)")->required();
    c->add_option("--set", sa.sets, "override a spec param: key=value");
    if (with_key)
      c->add_option("--key", sa.key, "idempotency key: resubmitting it returns the same run");
  };
  auto* validate = app.add_subcommand("validate", "check a spec; exit 2 on any error");
  add_spec(validate, false);
  auto* submit = app.add_subcommand("submit", "enqueue a run and print its id");
  add_spec(submit, true);
  submit->add_flag("--dry-run", sa.dry_run, "validate and show the jobs without enqueuing");
  auto* run = app.add_subcommand(
      "run", "submit (or take up the run with --key) and orchestrate it to its end");
  add_spec(run, true);
  run->add_option("--workers", sa.workers, "worker processes per kind: kind=N,...");

  std::optional<std::string> run_ref, state, kind;
  auto* status =
      app.add_subcommand("status", "a run's state and job counts (default: the latest run)");
  status->add_option("RUN", run_ref);
  auto* jobs = app.add_subcommand("jobs", "list jobs");
  jobs->add_option("--run", run_ref);
  jobs->add_option("--state", state);
  jobs->add_option("--kind", kind);

  std::string target;
  auto* logs = app.add_subcommand("logs", "print a job's attempt logs");
  logs->add_option("JOB", target)->required();
  auto* cancel = app.add_subcommand("cancel", "cancel a run or a job");
  cancel->add_option("RUN|JOB", target)->required();
  auto* retry =
      app.add_subcommand("retry", "requeue a run's or a job's failed, cancelled and skipped jobs");
  retry->add_option("RUN|JOB", target)->required();
  auto* pause = app.add_subcommand("pause", "stop claiming jobs of a kind");
  pause->add_option("KIND", target)->required();
  auto* resume = app.add_subcommand("resume", "resume claiming jobs of a kind");
  resume->add_option("KIND", target)->required();
  auto* assets = app.add_subcommand("assets", "list output assets");
  assets->add_option("--run", run_ref);

  std::string kinds;
  std::optional<std::string> db, assets_path;
  int slot_fd = -1;
  auto* worker =
      app.add_subcommand("worker", "run a worker process (normally spawned by a supervisor)");
  worker->add_option("--kinds", kinds, "kinds to serve: k1,k2")->required();
  worker->add_option("--db", db, "store URL (default: the workspace's)");
  worker->add_option("--assets", assets_path, "asset store path (default: the workspace's)");
  worker->add_option("--slot-fd", slot_fd, "shared status page from the supervisor")->group("");

  TrainBaseArgs ta;
  auto* train_base = app.add_subcommand(
      "train-base", "train the base text-to-image model on the Twemoji set (resumable)");
  KindFlags train_base_flags(train_base, train_base_kind().spec());
  train_base->add_option("--out", ta.output,
                         "model file to write (default models/NAME.safetensors)");
  train_base->add_option("--checkpoints", ta.checkpoints, "checkpoint folder (default: OUT.ckpt)");
  train_base->add_option("--threads", ta.threads, "intra-op threads (default: all cores)");
  train_base->add_flag("--fresh", ta.fresh, "ignore an existing checkpoint");
  TrainCaptionerArgs tc;
  auto* train_captioner = app.add_subcommand(
      "train-captioner", "train the image captioner on the Twemoji set (resumable)");
  train_captioner->add_option("--out", tc.output, "model file to write");
  train_captioner->add_option("--checkpoints", tc.checkpoints,
                              "checkpoint folder (default: OUT.ckpt)");
  train_captioner->add_option("--epochs", tc.epochs, "epochs of 6,144 images")
      ->check(CLI::Range(1, 100000));
  train_captioner->add_option("--width", tc.width, "channels of the first conv block")
      ->check(CLI::Range(1, 512));
  train_captioner->add_option("--batch", tc.batch, "batch size")->check(CLI::Range(1, 6144));
  train_captioner
      ->add_option("--styles", tc.styles, "image sets: twitter, google (default twitter)")
      ->delimiter(',')
      ->check(CLI::IsMember({"twitter", "google"}));
  train_captioner->add_option("--lr", tc.lr, "peak learning rate");
  train_captioner->add_option("--seed", tc.seed, "seed for data order and augmentation");
  train_captioner->add_option("--threads", tc.threads, "intra-op threads (default: all cores)");
  train_captioner->add_option("--limit-images", tc.limit_images,
                              "train on the first N images only");
  train_captioner->add_flag("--fresh", tc.fresh, "ignore an existing checkpoint");
  std::string eval_model = "emoji-captioner-32";
  auto* eval_captioner = app.add_subcommand(
      "eval-captioner",
      "measure a captioner on the held-out emoji of every image set in the datasets cache");
  eval_captioner->add_option("model", eval_model,
                             "model file or name (default emoji-captioner-32)");
  ExportArgs ea;
  auto* exp = app.add_subcommand(
      "export",
      "copy a run's images and videos to DIR under human names, each with a signed manifest");
  exp->add_option("RUN", ea.run, "the run (r12)")->required();
  exp->add_option("DIR", ea.dir, "where to put them")->required();
  exp->add_option("--name", ea.name,
                  "file name template: {matrix variables}, {stage} {job} {index} {seed} {aspect} "
                  "{name} {sha8}");
  exp->add_flag("--include-quarantined", ea.include_quarantined,
                "also export assets a check gate quarantined");
  ReportArgs rpa;
  auto* report = app.add_subcommand(
      "report", "write a run's self-contained HTML report (thumbnails, verdicts, lineage)");
  report->add_option("RUN", rpa.run, "the run (r12)")->required();
  report->add_option("--out", rpa.out,
                     "the file to write (default <workspace>/reports/r<ID>.html)");
  ProvenanceArgs pa;
  auto* provenance = app.add_subcommand(
      "provenance", "where a file or asset came from (or, with --used-by, what was made from it)");
  provenance->add_option("TARGET", pa.target, "a file, or an asset's or model's sha256");
  provenance->add_option("--used-by", pa.used_by,
                         "list everything downstream of this file or sha256");
  provenance->add_option("--format", pa.format, "text (default), json or prov-json (W3C PROV-JSON)")
      ->check(CLI::IsMember({"text", "json", "prov-json"}));
  CheckArgs ca;
  auto* check = app.add_subcommand(
      "check", "copyright, terms and bias checks on files, outside any run (exit 1 on a fail)");
  check->add_option("FILE", ca.files, "images (or caption .txt files)")->required();
  check->add_option("--terms", ca.terms,
                    "JSON file of term rules: [term | {term, verdict, reason}]");
  check->add_flag("--bias", ca.bias, "audit the files as one batch for skin tone and gender");
  check->add_option("--bias-chart", ca.bias_chart, "write the bias chart PNG here");
  check
      ->add_option("--training", ca.training,
                   "verdict for a copy of a training image upstream (warn, fail, off)")
      ->check(CLI::IsMember({"warn", "fail", "off"}));
  check->add_flag("--no-copyright", ca.no_copyright, "skip the registry and memorisation check");
  auto* registry =
      app.add_subcommand("registry", "the protected works copyright checks compare against");
  registry->require_subcommand(1);
  std::string registry_dir, registry_label;
  auto* registry_add =
      registry->add_subcommand("add", "hash every image under DIR into the registry");
  registry_add->add_option("DIR", registry_dir, "folder of images (searched recursively)")
      ->required();
  registry_add->add_option("--label", registry_label, "what the works are, shown in verdicts")
      ->required();
  [[maybe_unused]] auto* registry_list =
      registry->add_subcommand("list", "labels and how many works each has");
  auto* model = app.add_subcommand(
      "model", "models registered by reference (Stable Diffusion checkpoints, LoRAs)");
  model->require_subcommand(1);
  std::string model_file, model_name;
  auto* model_add = model->add_subcommand(
      "add",
      "register a weights file by reference (not copied): prints name, sha256, short hash, "
      "arch, prediction, path");
  model_add->add_option("FILE", model_file, "a .safetensors checkpoint or LoRA")->required();
  model_add->add_option("--name", model_name, "the name stages use (default: the file's stem)");
  auto* model_list = model->add_subcommand("list", "registered models");
  TrainLoraArgs tl;
  auto* train_lora = app.add_subcommand(
      "train-lora",
      "train a LoRA on a folder of images (with optional <stem>.txt captions) outside the queue");
  KindFlags train_lora_flags(train_lora, train_lora_kind().spec());
  train_lora->get_option("--images")->required();
  train_lora->add_option("--out", tl.output, "LoRA file to write")->required();
  train_lora->add_option("--checkpoints", tl.checkpoints, "checkpoint folder (default: OUT.ckpt)");
  train_lora->add_option("--threads", tl.threads, "intra-op threads (default: all cores)");
  train_lora->add_flag("--fresh", tl.fresh, "ignore an existing checkpoint");
  VerifyArgs va;
  auto* verify = app.add_subcommand(
      "verify",
      "check signed manifests: a PNG's (signature, parameters, pixels, signing key), every file "
      "of a run (r12) or of an export folder; exit 1 if any check fails or a file is missing");
  verify->add_option("TARGET", va.file, "a PNG written by Atelier, a run (r12) or an export folder")
      ->required();
  verify->add_flag("--regenerate", va.regenerate,
                   "also re-run the recorded generation and compare the pixels");
  auto* key = app.add_subcommand("key", "the workspace's signing key and the keys it trusts");
  key->require_subcommand(1);
  std::optional<std::string> key_out;
  std::string key_file, key_label;
  auto* key_export = key->add_subcommand("export", "the public key as JSON, for outside auditors");
  key_export->add_option("--out", key_out, "write it to this file instead of stdout");
  auto* key_import =
      key->add_subcommand("import", "trust another workspace's exported public key in verify");
  key_import->add_option("FILE", key_file, "a file written by `atelier key export`")->required();
  key_import->add_option("--label", key_label, "whose key it is (default: the file name)");
  auto* key_list = key->add_subcommand("list", "the keys this workspace trusts");
  DaemonCommands daemon;
  daemon.add_to(app);
  StoreCommands stores;
  stores.add_to(app);
  std::string example_dir;
  auto* example_data = app.add_subcommand(
      "example-data", "write the example campaign's brand images and protected works to DIR");
  example_data->add_option("DIR", example_dir, "folder (brand/ and protected/ go in it)")
      ->required();
  GenerateArgs ga;
  auto* generate = app.add_subcommand(
      "generate", "text-to-image outside the queue: writes PNGs to --out and prints their paths");
  KindFlags generate_flags(generate, generate_kind().spec(), {{"loras", "--lora"}});
  generate->add_option("--threads", ga.threads, "intra-op threads (default: all cores)");
  generate->add_option("--out", ga.out, "folder for the PNGs");
  generate->add_option("--prefix", ga.prefix, "file name prefix (then the seed)");
  auto* kinds_cmd = app.add_subcommand(
      "kinds", "every job kind with its parameters (types, defaults, bounds, flags)");
  for (int i = 0; i < argc; ++i) ta.command_line += (i ? " " : "") + std::string(argv[i]);
  tc.command_line = ta.command_line;

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "atelier: " << e.what() << "\n(see atelier --help)\n";
    return 2;
  }
  // Logs go to stderr: stdout carries a command's result (its --json above all).
  spdlog::set_default_logger(spdlog::stderr_color_mt("atelier"));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [%P] %v");
  try {
    if (*init) return cmd_init(g, init_dir, init_db, init_assets);
    if (*validate) return cmd_validate(g, sa);
    if (*submit) return cmd_submit(g, sa);
    if (*run) return cmd_run(g, sa);
    if (*status) return cmd_status(g, run_ref);
    if (*jobs) return cmd_jobs(g, run_ref, state, kind);
    if (*logs) return cmd_logs(g, target);
    if (*cancel) return cmd_cancel(g, target);
    if (*retry) return cmd_retry(g, target);
    if (*pause) return cmd_pause(g, target, true);
    if (*resume) return cmd_pause(g, target, false);
    if (*assets) return cmd_assets(g, run_ref);
    if (*exp) return cmd_export(g, ea);
    if (*report) return cmd_report(g, rpa);
    if (*provenance) {
      if (pa.target.empty() == pa.used_by.empty())
        throw InputError("provenance: give either TARGET or --used-by TARGET");
      return cmd_provenance(g, pa, argv);
    }
    if (*verify) {
      if (va.regenerate && !g_is_ml_binary) exec_ml_binary(argv);  // only re-running needs torch
      return cmd_verify(g, va);
    }
    if (*key_export) return cmd_key_export(g, key_out);
    if (*key_import) return cmd_key_import(g, key_file, key_label);
    if (*key_list) return cmd_key_list(g);
    if (auto rc = daemon.dispatch(g)) return *rc;
    if (auto rc = stores.dispatch(g)) return *rc;
    if (*example_data) return cmd_example_data(g, example_dir);
    if (*kinds_cmd) return cmd_kinds(g);
    // Parameters first, so a bad value is refused before atelier-ml loads.
    if (*train_base) {
      ta.params = train_base_flags.parse(train_base_kind());
      ta.named = train_base_flags.given("name");
    }
    if (*train_lora) tl.params = train_lora_flags.parse(train_lora_kind());
    if (*generate) {
      ga.params = generate_flags.parse(generate_kind());
      ga.given = generate_flags.params();
    }
    if (!g_is_ml_binary) {
      if (*train_base || *train_captioner || *eval_captioner || *train_lora || *generate ||
          *check || *registry || *model_add)
        exec_ml_binary(argv);
      if (*worker) {
        for (size_t s = 0, e; s <= kinds.size(); s = e + 1) {
          e = kinds.find(',', s);
          if (e == std::string::npos) e = kinds.size();
          const KindSpec* k = find_kind(kinds.substr(s, e - s));
          if (k && k->binary != kLightBinary) exec_ml_binary(argv);
        }
      }
    } else {
      if (*train_base) return ml.train_base(g, ta);
      if (*train_captioner) return ml.train_captioner(g, tc);
      if (*eval_captioner) return ml.eval_captioner(g, eval_model);
      if (*train_lora) return ml.train_lora(g, tl);
      if (*generate) return ml.generate(g, ga);
      if (*check) return ml.check(g, ca);
      if (*registry_add) return ml.registry_add(g, registry_dir, registry_label);
      if (*registry_list) return ml.registry_list(g);
      if (*model_add) return ml.model_add(g, model_file, model_name);
    }
    if (*model_list) return cmd_model_list(g);
    if (*worker) return cmd_worker(g, kinds, db, assets_path, slot_fd);
  } catch (const InputError& e) {
    std::cerr << "atelier: " << e.what() << "\n";
    return 2;
  } catch (const Failure& e) {
    std::cerr << "atelier: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "atelier: " << e.what() << "\n";
    return 1;
  }
  return 2;
}

}  // namespace atelier::cli

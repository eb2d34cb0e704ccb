// The `check` kind: copyright, terms, licence and bias checks over the job's
// inputs (the outputs of the stages it needs, the one asset of a for_each job, or
// the files its `images` param names). Every verdict is written with the job's
// completion (checks table). The job's outputs are the inputs its gate let
// through, under their upstream names: with `gate: fail` an asset with a failing
// verdict is quarantined (its verdict rows say so) and no later stage receives
// it; with `gate: warn` (the default) every input goes on. The bias report and
// its chart are records of the job (outputs that do not flow downstream).
// Failing verdicts do not fail the job: the job fails only on bad params.
#include <map>
#include <set>

#include "../job_kind.h"
#include "common/errors.h"
#include "kinds/check.h"
#include "workers/check/check_config.h"
#include "workers/check/run_checks.h"
#include "workers/check/subject_context.h"

namespace atelier {
namespace {

class CheckKind final : public JobKind {
 public:
  void check_params(const json& params) const override { parse_check_config(params); }
  void run(JobContext& ctx) override {
    const CheckConfig cfg = parse_check_config(ctx.params());
    std::unique_ptr<RegistryIndex> registry;
    if (cfg.copyright) registry = ctx.store().copyright_registry(*cfg.copyright);

    std::map<std::string, std::string> upstream_name;
    for (const AssetRow& a : ctx.store().dependency_outputs())
      upstream_name.emplace(a.sha256, a.name);
    SubjectContext gather = ctx.store().subject_context();
    std::vector<CheckSubject> subjects;
    std::vector<AssetRow> rows;
    std::set<std::string> seen;
    for (const JobInput& in : ctx.inputs()) {
      if (in.role != "input" && in.role != "images") continue;
      if (!seen.insert(in.sha256).second)
        continue;  // the same bytes from two upstream jobs: checked and forwarded once
      ctx.check_cancelled();
      auto row = ctx.store().asset(in.sha256);
      if (!row) throw InputError("check: input asset " + in.sha256 + " is not in the store");
      CheckSubject s;
      s.sha256 = in.sha256;
      auto it = upstream_name.find(in.sha256);
      s.name = it != upstream_name.end() ? it->second
                                         : row->source_path.value_or(in.sha256.substr(0, 12));
      s.path = in.path;
      s.media_type = in.media_type;
      s.stored_hashes = row->hashes;
      gather.fill(s, cfg.copyright && cfg.copyright->training_verdict != "off",
                  cfg.licence.has_value());
      subjects.push_back(std::move(s));
      rows.push_back(std::move(*row));
    }
    ctx.log().info("checking {} asset(s); registry {} work(s); gate {}", subjects.size(),
                   registry ? registry->entries.size() : 0, cfg.gate);
    ctx.progress(0.3, "checking " + std::to_string(subjects.size()) + " asset(s)");
    CheckOutcome outcome = run_checks(subjects, cfg, registry.get());

    int quarantined = 0;
    for (size_t i = 0; i < subjects.size(); ++i) {
      SubjectOutcome& o = outcome.subjects[i];
      if (o.computed_hashes)
        ctx.store().record_hashes(subjects[i].sha256, *o.computed_hashes, o.width, o.height);
      const bool hold = cfg.gate == "fail" && o.worst == "fail";
      for (CheckVerdict& v : o.verdicts) {
        v.gate = cfg.gate;
        v.quarantined = hold && v.verdict == "fail";
        ctx.log().info("{} {}: {}", subjects[i].name, v.check_kind, v.verdict);
        ctx.record_check(std::move(v));
      }
      if (hold) {
        ++quarantined;
        ctx.log().warn("{} quarantined by the gate", subjects[i].name);
      } else {
        ctx.forward_output(rows[i], subjects[i].name);
      }
    }
    if (outcome.bias) {
      // Each write may move earlier outputs: take what is needed before the next one.
      OutputAsset& report = ctx.write_output("bias_report.json", outcome.bias_report.dump(2) + "\n",
                                             "application/json", "json");
      report.forward = false;
      outcome.bias->details["report_sha256"] = report.sha256;
      OutputAsset& chart = ctx.write_output(
          "bias_chart.png",
          std::string_view(reinterpret_cast<const char*>(outcome.bias_chart.data()),
                           outcome.bias_chart.size()),
          "image/png", "png");
      chart.forward = false;
      outcome.bias->details["chart_sha256"] = chart.sha256;
      outcome.bias->gate = cfg.gate;
      ctx.log().info("bias: {}", outcome.bias->verdict);
      ctx.record_check(std::move(*outcome.bias));
    }
    ctx.progress(1.0, std::to_string(subjects.size() - quarantined) + " passed the gate, " +
                          std::to_string(quarantined) + " quarantined");
  }
};

}  // namespace

std::unique_ptr<JobKind> make_check_kind() {
  return std::make_unique<CheckKind>();
}

}  // namespace atelier

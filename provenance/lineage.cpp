// Lineage trees over the store and one-level input descriptions; see lineage.h.
#include "provenance/lineage.h"

#include <functional>
#include <map>
#include <ostream>
#include <set>

#include "common/errors.h"
#include "orchestrator/ids.h"

namespace atelier::provenance {
namespace {

json check_summary(Store& store, const std::string& sha) {
  json out = json::array();
  for (const CheckRow& c : store.asset_checks(sha)) {
    json v = {{"check", c.check_kind}, {"verdict", c.verdict}, {"quarantined", c.quarantined}};
    if (c.gate) v["gate"] = *c.gate;
    if (c.job_id) v["job"] = job_ref(*c.job_id);
    if (c.details.contains("label")) v["label"] = c.details["label"];
    out.push_back(std::move(v));
  }
  return out;
}

json asset_info(const AssetRow& a) {
  json i = {{"media_type", a.media_type}, {"bytes", a.bytes}, {"created_at", a.created_at}};
  if (a.source_path) i["source_path"] = *a.source_path;
  if (a.licence) i["licence"] = *a.licence;
  if (a.imports.size() > 1) i["imports"] = imports_json(a.imports);
  if (a.width) i["width"] = *a.width;
  if (a.height) i["height"] = *a.height;
  if (!a.name.empty()) i["name"] = a.name;
  if (a.job_id) i["job"] = job_ref(*a.job_id);
  return i;
}

json job_info(const JobRow& j) {
  json i = {{"kind", j.kind},      {"stage", j.stage},   {"run", run_ref(j.run_id)},
            {"state", j.state},    {"params", j.params}, {"matrix", j.matrix},
            {"attempt", j.attempt}};
  if (j.started_at) i["started_at"] = *j.started_at;
  if (j.finished_at) i["finished_at"] = *j.finished_at;
  return i;
}

class Tracer {
 public:
  explicit Tracer(Store& s) : store_(s) {}

  LineageNode asset_or_model(const std::string& sha, const std::string& role, bool upstream) {
    LineageNode n;
    n.id = sha;
    n.role = role;
    if (auto a = store_.get_asset(sha)) {
      n.type = "asset";
      n.info = asset_info(*a);
      if (auto m = store_.find_model(sha); m && m->sha256 == sha) n.info["model"] = m->name;
      n.checks = check_summary(store_, sha);
      if (!seen_.insert("a" + sha).second) {
        n.repeated = true;
        return n;
      }
      if (upstream) {
        expand_up(n, *a);
      } else {
        expand_down(n);
      }
      return n;
    }
    if (auto m = store_.find_model(sha); m && m->sha256 == sha) {
      n.type = "model";
      n.info = {{"name", m->name}, {"kind", m->kind}, {"params", m->params}};
      if (m->path) n.info["path"] = *m->path;
      n.repeated = !seen_.insert("m" + sha).second;
      if (!n.repeated && !upstream) expand_down(n);
      return n;
    }
    throw NotFound("no asset or model with sha256 " + sha + " in this workspace");
  }

 private:
  // Upstream: the inputs this asset was made from (asset_sources), then the job
  // that made it with the rest of that job's inputs.
  void expand_up(LineageNode& n, const AssetRow& a) {
    std::set<std::string> shown;
    for (const InputRef& src : store_.asset_sources(a.sha256)) {
      shown.insert(src.sha256);
      n.children.push_back(asset_or_model(src.sha256, src.role, true));
    }
    if (!a.job_id) return;
    auto job = store_.get_job(*a.job_id);
    if (!job) return;
    LineageNode j;
    j.type = "job";
    j.id = job_ref(job->id);
    j.role = "made_by";
    j.info = job_info(*job);
    if (!seen_.insert(j.id).second) {
      j.repeated = true;
    } else {
      for (const InputRef& in : store_.job_inputs(job->id)) {
        if (shown.count(in.sha256) || in.sha256 == a.sha256) continue;
        try {
          j.children.push_back(asset_or_model(in.sha256, in.role, true));
        } catch (const NotFound&) {
          // An input recorded by a job whose asset row the retention cleaner removed.
          j.children.push_back({"asset", in.sha256, in.role, {{"missing", true}}, json::array()});
        }
      }
    }
    n.children.push_back(std::move(j));
  }

  // Downstream: every job that used it and what each made.
  void expand_down(LineageNode& n) {
    for (int64_t id : store_.jobs_using(n.id)) {
      auto job = store_.get_job(id);
      if (!job) continue;
      LineageNode j;
      j.type = "job";
      j.id = job_ref(id);
      j.role = "used_by";
      j.info = job_info(*job);
      for (const InputRef& in : store_.job_inputs(id))
        if (in.sha256 == n.id) j.info["as"] = in.role;
      if (!seen_.insert(j.id).second) {
        j.repeated = true;
      } else {
        for (const AssetRow& out : store_.job_output_assets(id)) {
          if (out.sha256 == n.id) continue;  // a check forwarding what it was given
          LineageNode child = asset_or_model(out.sha256, "made", false);
          child.info["name"] = out.name;
          j.children.push_back(std::move(child));
        }
      }
      n.children.push_back(std::move(j));
    }
  }

  Store& store_;
  std::set<std::string> seen_;
};

}  // namespace

LineageNode trace_upstream(Store& store, const std::string& sha256) {
  return Tracer(store).asset_or_model(sha256, "target", true);
}

LineageNode trace_downstream(Store& store, const std::string& sha256) {
  return Tracer(store).asset_or_model(sha256, "target", false);
}

json lineage_json(const LineageNode& n) {
  json j = {{"type", n.type}, {"id", n.id}, {"role", n.role}, {"info", n.info}};
  if (n.type == "asset") j["checks"] = n.checks;
  if (n.repeated) j["repeated"] = true;
  if (!n.children.empty()) {
    j["children"] = json::array();
    for (const LineageNode& c : n.children) j["children"].push_back(lineage_json(c));
  }
  return j;
}

void print_lineage(std::ostream& out, const LineageNode& n, int depth) {
  out << std::string(static_cast<size_t>(depth) * 2, ' ');
  if (depth > 0) out << n.role << ": ";
  if (n.type == "job") {
    out << n.id << " " << n.info.value("kind", "") << " (stage " << n.info.value("stage", "")
        << ", run " << n.info.value("run", "") << ", " << n.info.value("state", "") << ")";
  } else {
    out << n.type << " " << n.id.substr(0, 16);
    if (n.info.contains("model")) out << " model " << n.info["model"].get<std::string>();
    if (n.info.contains("name") && n.type == "model")
      out << " " << n.info["name"].get<std::string>();
    if (n.info.contains("media_type")) out << " " << n.info["media_type"].get<std::string>();
    if (n.info.contains("source_path")) out << " from " << n.info["source_path"].get<std::string>();
    if (n.info.contains("licence")) out << " [" << n.info["licence"].get<std::string>() << "]";
    if (n.info.contains("imports"))
      for (size_t k = 1; k < n.info["imports"].size(); ++k) {
        const json& i = n.info["imports"][k];
        out << "; also imported from " << i["source"].get<std::string>() << " ["
            << (i["licence"].is_null() ? "no licence declared" : i["licence"].get<std::string>())
            << "]";
      }
    if (n.info.contains("path")) out << " at " << n.info["path"].get<std::string>();
    for (const json& c : n.checks) {
      out << " " << c["check"].get<std::string>() << "=" << c["verdict"].get<std::string>();
      if (c.value("quarantined", false)) out << "(quarantined)";
    }
  }
  if (n.repeated) out << " (shown above)";
  out << "\n";
  for (const LineageNode& c : n.children) print_lineage(out, c, depth + 1);
}

std::vector<const LineageNode*> lineage_assets(const LineageNode& n) {
  std::vector<const LineageNode*> out;
  std::set<std::string> seen;
  std::function<void(const LineageNode&)> walk = [&](const LineageNode& x) {
    for (const LineageNode& c : x.children) {
      if (c.type == "asset" && seen.insert(c.id).second) out.push_back(&c);
      walk(c);
    }
  };
  walk(n);
  return out;
}

json prov_json(const LineageNode& root) {
  json doc = {{"prefix",
               {{"atelier", "urn:atelier:"},
                {"sha256", "urn:sha256:"},
                {"prov", "http://www.w3.org/ns/prov#"}}},
              {"entity", json::object()},
              {"activity", json::object()},
              {"agent", json::object()},
              {"used", json::object()},
              {"wasGeneratedBy", json::object()},
              {"wasDerivedFrom", json::object()},
              {"wasAssociatedWith", json::object()}};
  doc["agent"]["atelier:software"] = {{"prov:type", "prov:SoftwareAgent"},
                                      {"atelier:name", "atelier 0.1.0"}};
  int counter = 0;
  auto blank = [&] { return "_:r" + std::to_string(++counter); };
  auto entity_id = [](const LineageNode& n) { return "sha256:" + n.id; };
  auto activity_id = [](const LineageNode& n) { return "atelier:job/" + n.id.substr(1); };
  std::set<std::string> relations;  // no duplicate statements where the tree repeats nodes
  auto relate = [&](const std::string& kind, json body) {
    if (!relations.insert(kind + body.dump()).second) return;
    doc[kind][blank()] = std::move(body);
  };
  std::function<void(const LineageNode&, const LineageNode*)> walk =
      [&](const LineageNode& n, const LineageNode* parent) {
        if (n.type == "job") {
          json a = {{"prov:type", "atelier:" + n.info.value("kind", std::string("job"))},
                    {"atelier:stage", n.info.value("stage", "")},
                    {"atelier:run", n.info.value("run", "")}};
          if (n.info.contains("started_at")) a["atelier:started_at_ms"] = n.info["started_at"];
          if (n.info.contains("finished_at")) a["atelier:finished_at_ms"] = n.info["finished_at"];
          if (!n.repeated || !doc["activity"].contains(activity_id(n)))
            doc["activity"][activity_id(n)] = a;
          relate("wasAssociatedWith",
                 {{"prov:activity", activity_id(n)}, {"prov:agent", "atelier:software"}});
          if (parent && parent->type != "job") {
            // Upstream: the parent entity was made by this job; downstream: the job used it.
            if (n.role == "made_by") {
              relate("wasGeneratedBy",
                     {{"prov:entity", entity_id(*parent)}, {"prov:activity", activity_id(n)}});
            } else {
              relate("used", {{"prov:activity", activity_id(n)},
                              {"prov:entity", entity_id(*parent)},
                              {"prov:role", n.info.value("as", "input")}});
            }
          }
        } else {
          json e = {{"prov:type", n.type == "model" ? "atelier:model" : "atelier:asset"}};
          for (const char* k : {"media_type", "source_path", "licence", "name", "path", "model"})
            if (n.info.contains(k)) e[std::string("atelier:") + k] = n.info[k];
          if (!n.checks.empty()) e["atelier:checks"] = n.checks.dump();
          if (!doc["entity"].contains(entity_id(n))) doc["entity"][entity_id(n)] = e;
          if (parent && parent->type == "job") {
            if (parent->role == "made_by") {
              relate("used", {{"prov:activity", activity_id(*parent)},
                              {"prov:entity", entity_id(n)},
                              {"prov:role", n.role}});
            } else {
              relate("wasGeneratedBy",
                     {{"prov:entity", entity_id(n)}, {"prov:activity", activity_id(*parent)}});
            }
          } else if (parent) {
            // An asset made from another one (a caption from its image, a LoRA from
            // its training images).
            relate("wasDerivedFrom", {{"prov:generatedEntity", entity_id(*parent)},
                                      {"prov:usedEntity", entity_id(n)},
                                      {"atelier:role", n.role}});
          }
        }
        for (const LineageNode& c : n.children) walk(c, &n);
      };
  walk(root, nullptr);
  // Each upstream entity a job used is something its outputs derive from.
  std::map<std::string, std::vector<std::string>> used_by_activity, made_by_activity;
  for (auto& [k, u] : doc["used"].items())
    used_by_activity[u["prov:activity"]].push_back(u["prov:entity"]);
  for (auto& [k, g] : doc["wasGeneratedBy"].items())
    made_by_activity[g["prov:activity"]].push_back(g["prov:entity"]);
  for (const auto& [act, outs] : made_by_activity)
    for (const std::string& out : outs)
      for (const std::string& in : used_by_activity[act])
        if (in != out)
          relate("wasDerivedFrom",
                 {{"prov:generatedEntity", out}, {"prov:usedEntity", in}, {"prov:activity", act}});
  return doc;
}

InputFact describe_input(Store& store, const InputRef& in) {
  InputFact f{in.sha256, in.role, std::nullopt, std::nullopt};
  // find_model also matches by name: only a model whose sha256 this is counts.
  if (auto m = store.find_model(in.sha256); m && m->sha256 == in.sha256) {
    f.model = std::move(m);
  } else {
    f.asset = store.get_asset(in.sha256);
  }
  return f;
}

std::vector<InputFact> direct_inputs(Store& store, const std::string& sha256, int64_t job_id) {
  std::vector<InputRef> refs = store.job_inputs(job_id);
  for (InputRef& r : store.asset_sources(sha256)) refs.push_back(std::move(r));
  std::set<std::string> done;
  std::vector<InputFact> out;
  for (const InputRef& in : refs)
    if (done.insert(in.sha256 + "/" + in.role).second) out.push_back(describe_input(store, in));
  return out;
}

json imports_json(const std::vector<AssetImport>& imports) {
  json out = json::array();
  for (const AssetImport& i : imports)
    out.push_back(
        {{"source", i.source_path}, {"licence", i.licence ? json(*i.licence) : json(nullptr)}});
  return out;
}

}  // namespace atelier::provenance

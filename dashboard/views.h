// The data behind both the JSON API and the HTML pages, read from the store
// once per request in one place, so /api/v1/... and the page for the same
// thing always agree. Each function returns JSON in the API's shape.
#pragma once
#include <optional>
#include <string>

#include "dashboard/router.h"
#include "orchestrator/store.h"

namespace atelier::dashboard {

int page_limit(const Ctx& c);  // ?limit= (1..500), else the configured page size
std::optional<int64_t> before_param(const Ctx& c);  // ?before=ID
int64_t run_param(const std::string& text);         // "r12" or "12"; NotFound otherwise
int64_t job_param(const std::string& text);         // "j345" or "345"

nlohmann::json overview_json(Ctx& c);                          // cached for summary_ttl_ms
nlohmann::json runs_json(Ctx& c);                              // ?state=&before=&limit=
nlohmann::json run_json(Ctx& c, int64_t run_id);               // status, stages, outputs
nlohmann::json jobs_json(Ctx& c);                              // ?run=&state=&kind=&before=&limit=
std::string jobs_json_text(Ctx& c);  // the same, as the API sends it (written as text)
nlohmann::json job_json(Ctx& c, int64_t job_id);               // row, attempts, log tail
nlohmann::json asset_json(Ctx& c, const std::string& sha256);  // row, checks, lineage
nlohmann::json schedules_json(Ctx& c);
nlohmann::json audit_json(Ctx& c);  // ?before=&limit=
nlohmann::json workers_json(Store& store);

// The last `max_bytes` of a job's newest attempt log (empty when none).
std::string log_tail(const std::string& path, size_t max_bytes);

}  // namespace atelier::dashboard

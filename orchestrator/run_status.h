// A run's status as JSON, the shape DESIGN.md s.7 fixes for `atelier status
// --json` and the dashboard's /api/v1/runs/{run}: state, job counts overall and
// by stage, verdict counts by check, and the assets a gate quarantined.
#pragma once
#include "orchestrator/store.h"

namespace atelier {

json run_status_json(Store& store, const RunRow& run);

}  // namespace atelier

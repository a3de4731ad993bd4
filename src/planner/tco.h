// Total cost of ownership: owning GPUs (a flat monthly cost up to the hardware's capacity, then
// another unit) against paying an API per token, the break-even volume, and the two cost curves
// as an SVG plot.
#pragma once

#include <string>

namespace onprem::planner {

struct TcoInputs {
  double hardware_usd = 8500;  // per unit (GPU + share of the server)
  double depreciation_years = 3;
  double power_w = 600;  // average draw per unit, W
  double electricity_usd_per_kwh = 0.15;
  double staff_usd_per_month = 1500;      // share of operations staff per unit
  double utilisation = 0.5;               // fraction of the month the unit serves at its throughput
  double throughput_tokens_per_s = 1500;  // aggregate tokens/s one unit serves (all sequences)
  double api_usd_per_mtok_in = 3.0;       // frontier API list prices per million tokens
  double api_usd_per_mtok_out = 15.0;
  double input_share = 0.8;      // fraction of all tokens that are input (prompt)
  double cache_hit_share = 0.5;  // fraction of input tokens served from the API's prompt cache
  double cache_discount = 0.9;   // price reduction on cached input tokens
};

struct TcoResult {
  double hours_per_month = 730;
  double depreciation_usd = 0, energy_usd = 0, staff_usd = 0;
  double onprem_usd_per_month = 0;                    // one unit
  double capacity_tokens_per_month = 0;               // one unit
  double api_usd_per_token = 0;                       // blended over the token mix and cache hits
  double break_even_tokens_per_month = 0;             // onprem_usd_per_month / api_usd_per_token
  bool break_even_within_capacity = false;            // false: one unit cannot carry that volume
  double onprem_cost(double tokens_per_month) const;  // units needed x monthly cost (min one unit)
  double api_cost(double tokens_per_month) const { return tokens_per_month * api_usd_per_token; }
};

TcoResult compute_tco(const TcoInputs& in);

// Both cost curves over 0 .. 2 x break-even (or the given maximum), the crossing marked by a
// circle with id "break-even". Elements: polyline#api, polyline#onprem, axes, labels.
struct SvgGeometry {
  double width = 720, height = 440, left = 80, right = 30, top = 40, bottom = 60;
  double x_max_tokens = 0, y_max_usd = 0;
  double x(double tokens) const { return left + (width - left - right) * tokens / x_max_tokens; }
  double y(double usd) const { return height - bottom - (height - top - bottom) * usd / y_max_usd; }
};
std::string tco_svg(const TcoInputs& in, const TcoResult& r, SvgGeometry* geometry_out = nullptr);

}  // namespace onprem::planner

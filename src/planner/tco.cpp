#include "planner/tco.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

namespace onprem::planner {

double TcoResult::onprem_cost(double tokens) const {
  const double units = std::max(1.0, std::ceil(tokens / capacity_tokens_per_month));
  return units * onprem_usd_per_month;
}

TcoResult compute_tco(const TcoInputs& in) {
  TcoResult r;
  r.depreciation_usd = in.hardware_usd / (in.depreciation_years * 12);
  r.energy_usd = in.power_w / 1000.0 * r.hours_per_month * in.electricity_usd_per_kwh;
  r.staff_usd = in.staff_usd_per_month;
  r.onprem_usd_per_month = r.depreciation_usd + r.energy_usd + r.staff_usd;
  r.capacity_tokens_per_month = in.throughput_tokens_per_s * 3600 * r.hours_per_month * in.utilisation;
  const double in_price = in.api_usd_per_mtok_in * (1 - in.cache_hit_share * in.cache_discount);
  r.api_usd_per_token = (in.input_share * in_price + (1 - in.input_share) * in.api_usd_per_mtok_out) / 1e6;
  r.break_even_tokens_per_month = r.api_usd_per_token > 0 ? r.onprem_usd_per_month / r.api_usd_per_token : INFINITY;
  r.break_even_within_capacity = r.break_even_tokens_per_month <= r.capacity_tokens_per_month;
  return r;
}

namespace {

std::string fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

std::string tokens_label(double t) {
  if (t >= 1e9) return fmt("%.1fB", t / 1e9);
  if (t >= 1e6) return fmt("%.0fM", t / 1e6);
  return fmt("%.0f", t);
}

}  // namespace

std::string tco_svg(const TcoInputs& in, const TcoResult& r, SvgGeometry* out) {
  (void)in;
  SvgGeometry g;
  const double be =
      std::isfinite(r.break_even_tokens_per_month) ? r.break_even_tokens_per_month : r.capacity_tokens_per_month;
  g.x_max_tokens = std::max(2 * be, 1.0);
  g.y_max_usd = std::max(r.api_cost(g.x_max_tokens), r.onprem_cost(g.x_max_tokens)) * 1.05;
  std::string s = fmt("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\"", g.width) +
                  fmt(" height=\"%.0f\"", g.height) + fmt(" viewBox=\"0 0 %.0f", g.width) +
                  fmt(" %.0f\" font-family=\"sans-serif\" font-size=\"12\">\n", g.height);
  s += "<title>Monthly cost: API per token vs owned hardware</title>\n";
  s += fmt("<line id=\"x-axis\" x1=\"%.1f\"", g.left) + fmt(" y1=\"%.1f\"", g.y(0)) +
       fmt(" x2=\"%.1f\"", g.width - g.right) + fmt(" y2=\"%.1f\" stroke=\"black\"/>\n", g.y(0));
  s += fmt("<line id=\"y-axis\" x1=\"%.1f\"", g.left) + fmt(" y1=\"%.1f\"", g.y(0)) + fmt(" x2=\"%.1f\"", g.left) +
       fmt(" y2=\"%.1f\" stroke=\"black\"/>\n", g.top);
  for (int i = 0; i <= 4; ++i) {  // ticks
    const double t = g.x_max_tokens * i / 4, c = g.y_max_usd * i / 4.2;
    s += fmt("<text x=\"%.1f\"", g.x(t)) + fmt(" y=\"%.1f\" text-anchor=\"middle\">", g.y(0) + 18) + tokens_label(t) +
         "</text>\n";
    s += fmt("<text x=\"%.1f\"", g.left - 6) + fmt(" y=\"%.1f\" text-anchor=\"end\">$", g.y(c) + 4) + fmt("%.0f", c) +
         "</text>\n";
  }
  s += fmt("<text x=\"%.1f\"", (g.left + g.width - g.right) / 2) +
       fmt(" y=\"%.1f\" text-anchor=\"middle\">tokens per month</text>\n", g.height - 15);
  s += fmt("<text x=\"15\" y=\"%.1f\" transform=\"rotate(-90 15 ", (g.top + g.height - g.bottom) / 2) +
       fmt("%.1f)\" text-anchor=\"middle\">USD per month</text>\n", (g.top + g.height - g.bottom) / 2);
  // API: a straight line through the origin.
  s += "<polyline id=\"api\" fill=\"none\" stroke=\"#d62728\" stroke-width=\"2\" points=\"" + fmt("%.2f,", g.x(0)) +
       fmt("%.2f ", g.y(0)) + fmt("%.2f,", g.x(g.x_max_tokens)) + fmt("%.2f\"/>\n", g.y(r.api_cost(g.x_max_tokens)));
  // Owned hardware: flat per unit, a step each time another unit is needed.
  std::string pts;
  double t = 0;
  while (t < g.x_max_tokens) {
    const double next =
        std::min(g.x_max_tokens, (std::floor(t / r.capacity_tokens_per_month) + 1) * r.capacity_tokens_per_month);
    const double c = r.onprem_cost(t + 1e-9 * r.capacity_tokens_per_month);
    pts += fmt("%.2f,", g.x(t)) + fmt("%.2f ", g.y(c)) + fmt("%.2f,", g.x(next)) + fmt("%.2f ", g.y(c));
    t = next;
  }
  if (!pts.empty()) pts.pop_back();
  s += "<polyline id=\"onprem\" fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\" points=\"" + pts + "\"/>\n";
  if (std::isfinite(r.break_even_tokens_per_month)) {
    const double bx = g.x(r.break_even_tokens_per_month), by = g.y(r.api_cost(r.break_even_tokens_per_month));
    s += fmt("<circle id=\"break-even\" cx=\"%.2f\"", bx) + fmt(" cy=\"%.2f\" r=\"5\" fill=\"black\"", by) +
         fmt(" data-tokens-per-month=\"%.0f\"/>\n", r.break_even_tokens_per_month);
    s += fmt("<text x=\"%.1f\"", bx + 8) + fmt(" y=\"%.1f\">break-even ", by - 8) +
         tokens_label(r.break_even_tokens_per_month) + " tokens/month</text>\n";
  }
  s += fmt("<text x=\"%.1f\" y=\"25\" fill=\"#d62728\">API</text>\n", g.left + 10);
  s += fmt("<text x=\"%.1f\" y=\"25\" fill=\"#1f77b4\">owned hardware</text>\n", g.left + 60);
  s += "</svg>\n";
  if (out) *out = g;
  return s;
}

}  // namespace onprem::planner

#include "model/rope.h"

#include <algorithm>
#include <cmath>

namespace onprem::model {

YarnParams yarn_params(const ModelConfig& c, float factor) {
  YarnParams y;
  y.factor = factor;
  if (factor <= 1) return y;
  const double n = double(c.n_rot), L = double(c.n_ctx_train), lb = std::log(double(c.rope_theta));
  auto corr = [&](double beta) { return n * std::log(L / (2 * M_PI * beta)) / (2 * lb); };
  y.low = float(std::max(0.0, std::floor(corr(32))));
  y.high = float(std::min(n - 1, std::ceil(corr(1))));
  y.mscale = float(1 + 0.1 * std::log(double(factor)));
  return y;
}

float yarn_ramp(const YarnParams& y, int pair) {
  const float t = (float(pair) - y.low) / std::max(0.001f, y.high - y.low);
  return 1 - std::min(1.0f, std::max(0.0f, t));
}

void rope_cos_sin(int64_t pos, const ModelConfig& c, float yarn_factor, float* cos_sin) {
  const int half = int(c.n_rot / 2);
  const auto& sec = c.rope_sections;
  const int sect_dims = sec[0] + sec[1] + sec[2] + sec[3];
  const float theta_scale = std::pow(c.rope_theta, -2.0f / float(c.n_rot));
  const YarnParams y = yarn_params(c, yarn_factor);
  float theta = float(pos);
  for (int j = 0; j < half; ++j, theta *= theta_scale) {
    // Pairs outside every M-RoPE section turn with position 0, as llama.cpp's IMRoPE does
    // (text: t = h = w = pos).
    bool covered = true;
    if (sect_dims > 0) {
      const int sector = j % sect_dims;
      covered = (sector % 3 == 0 && sector < 3 * sec[0]) || (sector % 3 == 1 && sector < 3 * sec[1]) ||
                (sector % 3 == 2 && sector < 3 * sec[2]);
    }
    float th = covered ? theta : 0.0f;
    float m = 1;
    if (y.factor > 1) {
      const float ramp = yarn_ramp(y, j);
      th = th / y.factor * (1 - ramp) + th * ramp;
      m = y.mscale;
    }
    cos_sin[2 * j] = std::cos(th) * m;
    cos_sin[2 * j + 1] = std::sin(th) * m;
  }
}

void rope_neox(float* x, int64_t pos, const ModelConfig& c, float yarn_factor) {
  const int half = int(c.n_rot / 2);
  float cs[512];  // n_rot <= head_dim <= 512 (checked at load)
  rope_cos_sin(pos, c, yarn_factor, cs);
  for (int j = 0; j < half; ++j) {
    const float x0 = x[j], x1 = x[j + half];
    x[j] = x0 * cs[2 * j] - x1 * cs[2 * j + 1];
    x[j + half] = x0 * cs[2 * j + 1] + x1 * cs[2 * j];
  }
}

}  // namespace onprem::model

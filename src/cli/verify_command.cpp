// `elarin verify`: builds the Elara LM of the resolved lm.model config and checks it before
// a long run: total and active-per-token parameter counts, output shapes, causality (a later
// token never moves an earlier logit), one forward/backward (finite loss, every parameter
// reached by a finite gradient), the MoE load per expert on random tokens, the recursion
// (n_layer x recursion_depth block applications), and the diffusion head's output shape.
// Prints one line per check; --json ends with the figures and "ok". Exit 1 when a check fails.
#include <torch/torch.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cmath>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>

#include "commands.hpp"
#include "elarin/cli/app_config.hpp"
#include "elarin/core/errors.hpp"
#include "elarin/models/elara/elara_model.hpp"

namespace elarin::cli {

CommandRun setup_verify(CLI::App& app, const GlobalOptions& global) {
  struct Options {
    std::string config_file;
    std::vector<std::string> overrides;
    bool json = false;
    bool counts_only = false;
  };
  auto o = std::make_shared<Options>();
  app.add_option("--config", o->config_file, "YAML config, e.g. configs/lm/char-baby.yaml");
  app.add_option("--set", o->overrides, "override a key: --set lm.model.expert_count=8");
  app.add_flag("--json", o->json, "end stdout with one JSON object of the checks");
  app.add_flag("--counts-only", o->counts_only,
               "only count parameters (one block of each kind is built): for configs too big "
               "to build here, e.g. configs/lm/elara-2.8b.yaml");
  return [o, &global]() {
    AppConfig cfg;
    cfg.load(o->config_file, o->overrides, global);
    const auto& c = cfg.lm.model;
    c.validate();
    if (o->counts_only) {
      const auto [total, active] = models::ElaraModelImpl::count_parameters(c);
      std::cout << "Elara LM: " << total << " parameters, " << active << " active per token, "
                << c.n_layer << " x " << c.recursion_depth << " block applications; float32 "
                << std::fixed << std::setprecision(2) << static_cast<double>(total) * 4 / 1e9
                << " GB, 4-bit " << static_cast<double>(total) / 2 / 1e9 << " GB\n";
      if (o->json)
        std::cout << nlohmann::json{{"params", total},
                                    {"params_active", active},
                                    {"applications", c.n_layer * c.recursion_depth},
                                    {"ok", true}}
                         .dump()
                  << "\n";
      return 0;
    }
    torch::manual_seed(static_cast<uint64_t>(cfg.runtime.seed));
    models::ElaraModel lm(c);
    nlohmann::json j;
    bool ok = true;
    auto check = [&](const std::string& name, bool pass, const std::string& detail) {
      std::cout << (pass ? "ok   " : "FAIL ") << name << ": " << detail << "\n";
      j["checks"][name] = pass;
      ok = ok && pass;
    };
    j["params"] = lm->parameter_count();
    j["params_active"] = lm->active_parameter_count();
    std::cout << "Elara LM: " << lm->parameter_count() << " parameters, "
              << lm->active_parameter_count() << " active per token, " << c.n_layer << " x "
              << c.recursion_depth << " block applications\n";

    const int64_t B = 2, T = c.block_size;
    auto ids = torch::randint(c.vocab_size, {B, T}, torch::kLong);
    {
      torch::NoGradGuard no_grad;
      lm->eval();
      auto out = lm->forward(ids, nullptr, /*keep_hidden_states=*/true);
      const bool shapes = out.logits.sizes() == torch::IntArrayRef({B, T, c.vocab_size}) &&
                          out.hidden.sizes() == torch::IntArrayRef({B, T, c.n_embd});
      check("shapes", shapes,
            "logits " + c10::str(out.logits.sizes()) + ", hidden " + c10::str(out.hidden.sizes()));
      const auto apps = static_cast<size_t>(c.n_layer * c.recursion_depth);
      check("recursion", out.hidden_states.size() == apps + 1,
            std::to_string(out.hidden_states.size() - 1) + " block applications (expected " +
                std::to_string(apps) + ")");
      auto ids2 = ids.clone();
      ids2.narrow(1, T / 2, T - T / 2).random_(c.vocab_size);
      auto out2 = lm->forward(ids2);
      const double moved = (out.logits.narrow(1, 0, T / 2) - out2.logits.narrow(1, 0, T / 2))
                               .abs()
                               .max()
                               .item<double>();
      // MoE layers batch each expert's rows, so a later token's routing can change the
      // rounding of an earlier row's matmul (~1e-7): a leak would move logits by ~1e-2.
      std::ostringstream moved_text;
      moved_text << moved;
      check("causality", moved < 1e-4,
            "changing tokens " + std::to_string(T / 2) + ".. moved earlier logits by " +
                moved_text.str() + " (at most 1e-4)");
      if (c.use_diffusion_head) {
        // Two blocks of draft_len masks, after 1 token and after all but the last ones; the
        // tokens' logits must not see them.
        models::MaskBlocks blocks;
        blocks.len = c.draft_len;
        const int64_t Tm = T - blocks.len - blocks.ahead;
        blocks.prefix = {1, Tm};
        auto d = lm->forward(ids.narrow(1, 0, Tm), nullptr, false, &blocks);
        const double leak = (d.logits - out.logits.narrow(1, 0, Tm)).abs().max().item<double>();
        check("diffusion_head",
              d.draft_logits.sizes() == torch::IntArrayRef({B, 2 * blocks.len, c.vocab_size}) &&
                  leak < 1e-4,
              "draft logits " + c10::str(d.draft_logits.sizes()) +
                  ", token logits moved by the masks: " + std::to_string(leak) + " (at most 1e-4)");
      }
      // MoE load: the share of routed slots each expert receives on these random tokens.
      size_t a = 0;
      for (int64_t layer = 0; layer < c.n_layer; ++layer) {
        auto block = lm->layers->ptr<models::ElaraBlockImpl>(static_cast<size_t>(layer));
        for (int64_t r = 0; r < c.recursion_depth; ++r, ++a) {
          if (!block->is_moe()) continue;
          const auto& x = out.hidden_states[a];
          auto h = x + block->self_attn->forward(block->input_layernorm(x), 0);
          auto n = block->post_attention_layernorm(h);
          auto route = block->moe->forward(n.reshape({-1, c.n_embd}));
          auto load =
              torch::bincount(route.topk_index.flatten(), {}, c.expert_count).to(torch::kDouble) /
              static_cast<double>(route.topk_index.numel());
          const std::string key = "layer" + std::to_string(layer) + "_app" + std::to_string(r);
          j["moe_load"][key] =
              std::vector<double>(load.data_ptr<double>(), load.data_ptr<double>() + load.numel());
          const double hi = load.max().item<double>(), lo = load.min().item<double>();
          std::cout << "     moe load " << key << ": min " << lo << ", max " << hi << " (uniform "
                    << 1.0 / static_cast<double>(c.expert_count) << ")\n";
        }
      }
    }
    lm->train();
    auto out = lm->forward(ids.narrow(1, 0, T - 1));
    auto loss = torch::nn::functional::cross_entropy(out.logits.reshape({-1, c.vocab_size}),
                                                     ids.narrow(1, 1, T - 1).reshape(-1)) +
                out.aux_loss;
    loss.backward();
    int64_t reached = 0, total = 0;
    bool finite = std::isfinite(loss.item<double>());
    std::string unreached;
    for (const auto& p : lm->named_parameters(true)) {
      ++total;
      const auto& g = p.value().grad();
      const bool skip = p.key() == "mask_embed" || p.key().rfind("draft_proj", 0) == 0;
      if (g.defined() && g.abs().sum().item<double>() > 0) {
        ++reached;
        finite = finite && std::isfinite(g.sum().item<double>());
      } else if (!skip && p.key().find(".moe.routed.") == std::string::npos &&
                 p.key().find("gate.bias") == std::string::npos) {
        unreached += (unreached.empty() ? "" : ", ") + p.key();
      }
    }
    j["loss"] = loss.item<double>();
    check("backward", finite && unreached.empty(),
          "loss " + std::to_string(loss.item<double>()) +
              " (ln V = " + std::to_string(std::log(static_cast<double>(c.vocab_size))) + "), " +
              std::to_string(reached) + " of " + std::to_string(total) +
              " parameters got a gradient" + (unreached.empty() ? "" : "; none for " + unreached));
    j["ok"] = ok;
    if (o->json) std::cout << j.dump() << "\n";
    return ok ? 0 : 1;
  };
}

}  // namespace elarin::cli

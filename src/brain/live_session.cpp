// The live session (see the header): the naming task with a teacher and a world that answer to
// other threads, the feedback log and its replay, events.
#include "elarin/brain/live_session.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <future>
#include <limits>

#include "elarin/brain/naming_stimuli.hpp"
#include "elarin/brain/valence.hpp"
#include "elarin/core/atomic_file.hpp"
#include "elarin/core/logging.hpp"

namespace elarin::brain {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

double mean_of(const std::vector<int>& v, size_t window) {
  const size_t n = std::min(window, v.size());
  if (n == 0) return 0;
  double s = 0;
  for (size_t i = v.size() - n; i < v.size(); ++i) s += v[i];
  return s / double(n);
}

constexpr size_t kWindow = 100;     // episodes the page's rates and accuracies are over
constexpr size_t kShownKept = 4096;     // stream episodes whose stimulus can be fetched
constexpr size_t kSentShownKept = 64;   // the same for stimuli a person sent
constexpr const char* kCountersFile = "dashboard.json";

}  // namespace

struct LiveSession::Command {
  std::function<void(const Reply&)> work;
  std::promise<json> promise;
  bool answered = false;
};

struct LiveSession::Open {
  int64_t number = 0, tick = 0, label = -1;
  std::string port, sense, answer, source;
  int64_t item = -1;
  torch::Tensor values;  // a stimulus a person sent (the stream's items are in the data)
  Clock::time_point answered_at;
  bool waiting = false;  // the teacher waits for a person's rating
  bool rated = false;    // its rating (critic's or person's) was given
};

torch::Tensor image_to_port(const torch::Tensor& rgb, int64_t size) {
  const auto side = static_cast<int64_t>(std::lround(std::sqrt(double(size))));
  if (side * side != size)
    throw UsageError("the image port holds " + std::to_string(size) + " values, not a square");
  TORCH_CHECK(rgb.dim() == 3 && rgb.size(2) == 3, "image_to_port: expected (H, W, 3)");
  auto gray = rgb.to(torch::kFloat32).mean(2).div(255.0f);  // (H, W) in [0, 1]
  if (gray.size(0) != side || gray.size(1) != side)
    gray = torch::nn::functional::interpolate(
               gray.view({1, 1, gray.size(0), gray.size(1)}),
               torch::nn::functional::InterpolateFuncOptions()
                   .size(std::vector<int64_t>{side, side})
                   .mode(torch::kArea))
               .view({side, side});
  return gray.reshape({size}).contiguous();
}

torch::Tensor sound_to_port(const torch::Tensor& samples, int64_t size) {
  auto x = samples.to(torch::kFloat32).reshape({-1});
  if (x.numel() > 0) {
    const float peak = x.abs().max().item<float>();
    const auto loud = x.abs().gt(0.05f * peak).nonzero();
    if (peak > 0 && loud.numel() > 0) x = x.narrow(0, loud[0][0].item<int64_t>(), x.numel() - loud[0][0].item<int64_t>());
  }
  x = x.numel() >= size ? x.narrow(0, 0, size) : torch::constant_pad_nd(x, {0, size - x.numel()});
  return x.contiguous();
}

torch::Tensor text_to_port(const std::string& text, int64_t size) { return text_row(text, size); }

LiveSession::LiveSession(Brain& brain, const NamingData& data, LiveOptions options)
    : brain_(brain), data_(data), options_(std::move(options)) {
  if (options_.feedback_log.empty())
    options_.feedback_log = (fs::path(brain_.config().state_dir) / "feedback.jsonl").string();
  log_ = std::make_unique<FeedbackLog>(options_.feedback_log);
  counters_ = {{"episodes", 0}, {"sent", 0},      {"treats", 0}, {"person_ratings", 0},
               {"praise", 0},   {"scolding", 0},  {"critic_ratings", 0}};
  for (const auto& name : brain_.order()) {
    int64_t n = 0;
    if (!brain_.bus())
      for (const auto& [key, t] : brain_.region(name).state()) n += t.numel();
    state_values_[name] = n;
  }
}

LiveSession::~LiveSession() = default;

int64_t LiveSession::port_size(const std::string& port) const {
  for (const auto& p : brain_.config().env_ports)
    if (p.rfind(port + "=", 0) == 0) return std::stoll(p.substr(port.size() + 1));
  throw UsageError("the brain has no world port '" + port + "' (brain.env_ports)");
}

void LiveSession::reply(const Reply& r, json value) {
  if (r->answered) return;
  r->answered = true;
  r->promise.set_value(std::move(value));
}

void LiveSession::reply_error(const Reply& r, std::exception_ptr e) {
  if (r->answered) return;
  r->answered = true;
  r->promise.set_exception(e);
}

json LiveSession::on_task_deferred(std::function<void(const Reply&)> work) {
  auto c = std::make_shared<Command>();
  c->work = std::move(work);
  auto result = c->promise.get_future();
  {
    std::lock_guard<std::mutex> lk(mutex_);
    if (!running_.load() || stop_.load()) throw Busy("the brain is not running", 503);
    commands_.push_back(c);
  }
  wake_.notify_all();
  return result.get();
}

json LiveSession::on_task(std::function<json()> work) {
  return on_task_deferred([work = std::move(work)](const Reply& r) { reply(r, work()); });
}

bool LiveSession::pump(const std::function<bool()>& done, Clock::time_point until) {
  std::unique_lock<std::mutex> lk(mutex_);
  for (;;) {
    while (!commands_.empty()) {
      auto c = commands_.front();
      commands_.pop_front();
      lk.unlock();
      try {
        c->work(c);
      } catch (...) {
        reply_error(c, std::current_exception());
      }
      lk.lock();
    }
    if (done()) return true;
    if (stop_.load() || Clock::now() >= until) return false;
    if (until == Clock::time_point::max())
      wake_.wait(lk);
    else
      wake_.wait_until(lk, until);
  }
}

void LiveSession::publish(const std::string& type, json data, int64_t episode, bool routine) {
  {
    std::lock_guard<std::mutex> lk(events_mutex_);
    LiveEvent e;
    e.id = next_event_++;
    e.type = type;
    e.episode = episode;
    e.routine = routine;
    e.data = data.dump(-1, ' ', false, json::error_handler_t::replace);
    events_.push_back(std::move(e));
    while (events_.size() > options_.event_history) events_.pop_front();
  }
  events_cv_.notify_all();
}

bool EventSampler::keep(const LiveEvent& e, Clock::time_point now) {
  if (rate_ <= 0 || !e.routine) return true;
  if (e.type == "answer") {
    if (now - last_ < std::chrono::duration_cast<Clock::duration>(
                          std::chrono::duration<double>(1.0 / rate_)))
      return false;
    last_ = now;
    kept_episode_ = e.episode;
    return true;
  }
  return e.episode == kept_episode_;
}

std::vector<LiveEvent> LiveSession::events_after(int64_t after, std::chrono::milliseconds wait) {
  std::unique_lock<std::mutex> lk(events_mutex_);
  events_cv_.wait_for(lk, wait, [&] {
    return (!events_.empty() && events_.back().id > after) || !running_.load();
  });
  std::vector<LiveEvent> out;
  for (const auto& e : events_)
    if (e.id > after) out.push_back(e);
  return out;
}

int64_t LiveSession::last_event_id() {
  std::lock_guard<std::mutex> lk(events_mutex_);
  return next_event_ - 1;
}

std::optional<std::pair<std::string, torch::Tensor>> LiveSession::shown(int64_t number) {
  std::lock_guard<std::mutex> lk(mutex_);
  for (const auto* ring : {&shown_, &sent_shown_})
    for (const auto& [n, what] : *ring)
      if (n == number) return what;
  return std::nullopt;
}

json LiveSession::controls_locked() const {
  return {{"paused", options_.paused},
          {"critic", options_.critic},
          {"episodes_per_s", options_.episodes_per_s},
          {"running", running_.load()},
          {"stimuli_waiting", stimuli_.size()}};
}

json LiveSession::state() {
  std::lock_guard<std::mutex> lk(mutex_);
  json ports = json::object();
  for (const auto& p : brain_.config().env_ports) {
    const auto eq = p.find('=');
    ports[p.substr(0, eq)] = std::stoll(p.substr(eq + 1));
  }
  json s = {{"controls", controls_locked()},
            {"counters", counters_},
            {"tick", tick_.load()},
            {"sense_ticks", sense_ticks_},
            {"episode", last_answer_},
            {"last_feedback", last_feedback_},
            {"metrics", last_metrics_},
            {"ports", ports},
            {"vocabulary", brain_.config().vocabulary},
            {"state_dir", brain_.config().state_dir},
            {"feedback_log",
             {{"path", log_->path()},
              {"records", log_->count()},
              {"last_seq", log_->last_seq()},
              {"applied_seq", applied_seq_},
              {"replayed", replayed_}}}};
  s["open_episode"] = open_ ? json(open_->number) : json();
  s["waiting_for_rating"] = open_ && open_->waiting;
  return s;
}

nlohmann::json LiveSession::stimulus(const std::string& port, torch::Tensor values,
                                     const std::string& source) {
  const int64_t size = port_size(port);
  if (values.numel() != size)
    throw UsageError("a stimulus for port '" + port + "' holds " + std::to_string(size) +
                     " values, got " + std::to_string(values.numel()));
  size_t position = 0;
  {
    std::lock_guard<std::mutex> lk(mutex_);
    if (!running_.load() || stop_.load()) throw Busy("the brain is not running", 503);
    if (stimuli_.size() >= options_.stimulus_queue)
      throw Busy(std::to_string(stimuli_.size()) +
                     " stimuli are waiting to be shown; send the next once one is answered",
                 429);
    NamingStimulus s;
    s.port = port;
    s.values = values.to(torch::kFloat32).reshape({size}).contiguous();
    s.source = source;
    stimuli_.push_back(std::move(s));
    position = stimuli_.size();
  }
  wake_.notify_all();
  return {{"queued", position}, {"port", port}, {"source", source}};
}

nlohmann::json LiveSession::control(const json& request) {
  if (!request.is_object()) throw UsageError("control: expected a JSON object");
  static const std::vector<std::string> keys = {"pause", "episodes_per_s", "critic", "save",
                                                "wipe", "confirm"};
  for (const auto& [key, value] : request.items()) {
    if (std::find(keys.begin(), keys.end(), key) == keys.end())
      throw UsageError("control: unknown field '" + key +
                       "' (expected pause, episodes_per_s, critic, save, wipe with confirm)");
    if ((key == "pause" || key == "critic" || key == "save" || key == "wipe") && !value.is_boolean())
      throw UsageError("control: '" + key + "' is " + value.dump() + ", expected true or false");
  }
  if (request.contains("episodes_per_s")) {
    const auto& v = request["episodes_per_s"];
    if (!v.is_number() || v.get<double>() < 0 || v.get<double>() > 1e6)
      throw UsageError("control: 'episodes_per_s' is " + v.dump() +
                       ", expected a number 0..1000000 (0 = no limit)");
  }
  if (request.contains("confirm") && !request["confirm"].is_string())
    throw UsageError("control: 'confirm' is " + request["confirm"].dump() + ", expected \"wipe\"");
  const bool wipe = request.value("wipe", false);
  if (wipe && request.value("confirm", std::string()) != "wipe")
    throw UsageError("control: a wipe deletes everything the brain learned; confirm it with "
                     "\"confirm\": \"wipe\"");
  return on_task([this, request, wipe] {
    {
      std::lock_guard<std::mutex> lk(mutex_);
      if (request.contains("pause")) options_.paused = request["pause"].get<bool>();
      if (request.contains("critic")) options_.critic = request["critic"].get<bool>();
      if (request.contains("episodes_per_s"))
        options_.episodes_per_s = request["episodes_per_s"].get<double>();
    }
    if (wipe) wipe_state();
    if (request.value("save", false)) save();
    json c;
    {
      std::lock_guard<std::mutex> lk(mutex_);
      c = controls_locked();
    }
    json event = c;
    if (wipe) event["wiped"] = true;
    if (request.value("save", false)) event["saved_tick"] = brain_.ticks();
    publish("control", event);
    return c;
  });
}

nlohmann::json LiveSession::feedback(const json& request) {
  if (!request.is_object()) throw UsageError("feedback: expected a JSON object");
  int given = 0;
  for (const auto& [key, value] : request.items()) {
    if (key == "rating") {
      ++given;
      if (!value.is_number_integer() || value.get<int64_t>() < -1 || value.get<int64_t>() > 1)
        throw UsageError("feedback: 'rating' is " + value.dump() + ", expected -1, 0 or 1");
    } else if (key == "treat") {
      ++given;
      if (!value.is_boolean() || !value.get<bool>())
        throw UsageError("feedback: 'treat' is " + value.dump() + ", expected true");
    } else if (key == "words") {
      ++given;
      if (!value.is_string() || value.get<std::string>().empty() ||
          value.get<std::string>().size() > 4096)
        throw UsageError("feedback: 'words' must be a non-empty string of at most 4096 bytes");
    } else if (key == "episode") {
      if (!value.is_number_integer() || value.get<int64_t>() < 1)
        throw UsageError("feedback: 'episode' is " + value.dump() + ", expected an episode number");
    } else {
      throw UsageError("feedback: unknown field '" + key +
                       "' (expected one of rating, treat, words, and optionally episode)");
    }
  }
  if (given != 1)
    throw UsageError("feedback: give exactly one of \"rating\": -1|0|1, \"treat\": true, "
                     "\"words\": \"...\"");
  return on_task_deferred([this, request](const Reply& r) { apply_feedback(request, r); });
}

void LiveSession::apply_feedback(const json& request, const Reply& reply_to) {
  if (!open_) throw Conflict("the brain has not answered yet: there is nothing to rate");
  auto& open = *open_;
  if (request.contains("episode") && request["episode"].get<int64_t>() != open.number)
    throw Conflict("episode " + std::to_string(request["episode"].get<int64_t>()) +
                   " is no longer open for feedback: the brain has answered episode " +
                   std::to_string(open.number) + " since (feedback applies to the latest answer "
                   "until the next one; pause or slow the brain down to rate each)");
  FeedbackRecord rec;
  rec.episode = open.number;
  rec.tick = open.tick;
  rec.answer = open.answer;
  rec.port = open.port;
  rec.sense = open.sense;
  rec.item = open.item;
  if (open.values.defined()) rec.values = open.values;
  rec.delay_s = seconds_since(open.answered_at);
  json extra = json::object();
  if (request.contains("rating")) {
    rec.kind = "rating";
    rec.reward = double(request["rating"].get<int64_t>());
  } else if (request.contains("treat")) {
    rec.kind = "treat";
    rec.reward = 1;
    rec.treat = true;
  } else {
    rec.kind = "words";
    rec.words = request["words"].get<std::string>();
    rec.valence = appraise(brain_, rec.words);
    if (std::abs(rec.valence) >= options_.words_threshold) rec.reward = rec.valence > 0 ? 1 : -1;
    extra = {{"words", rec.words},
             {"valence", rec.valence},
             {"heard_as", rec.reward > 0 ? "praise" : rec.reward < 0 ? "scolding" : "neither"}};
  }
  // Words heard as neither teach nothing: logged (what the person said), and a waiting
  // teacher keeps waiting for a rating.
  const int64_t seq = log_->append(rec);
  json answer = {{"seq", seq},
                 {"episode", rec.episode},
                 {"kind", rec.kind},
                 {"reward", rec.reward},
                 {"treat", rec.treat},
                 {"delay_s", rec.delay_s}};
  answer.update(extra);
  {
    std::lock_guard<std::mutex> lk(mutex_);
    count_person(rec);
    const bool hand_over = open.waiting && !open.rated && !(rec.kind == "words" && rec.reward == 0);
    if (hand_over) {  // the teacher returns it; run_naming applies it; observe() answers
      NamingRating rating;
      rating.reward = rec.reward;
      rating.treat = rec.treat;
      rating.delay_s = rec.delay_s;
      person_ = rating;
      person_reply_ = reply_to;
      person_record_ = answer;
      person_record_["applied_seq"] = seq;
      return;
    }
  }
  // The answer was rated already (the critic, or a person before): this adds to it.
  Neuromodulators mod;
  const bool learns = rec.reward != 0 || rec.treat;
  if (learns) mod = brain_.feedback(rec.reward, rec.treat, rec.delay_s);
  answer["applied"] = learns;
  answer["dopamine"] = mod.dopamine;
  answer["temperature"] = mod.temperature;
  answer["expected"] = mod.expected;
  {
    std::lock_guard<std::mutex> lk(mutex_);
    applied_seq_ = seq;
    open.rated = open.rated || learns;
    if (learns) last_feedback_ = answer;
  }
  json event = answer;
  event["by"] = "person";
  publish("feedback", event);
  reply(reply_to, answer);
}

std::optional<NamingStimulus> LiveSession::world() {
  for (;;) {
    if (stop_.load()) return std::nullopt;
    if (options_.save_every_s > 0 && seconds_since(last_save_at_) >= options_.save_every_s) save();
    const auto until_save =
        options_.save_every_s > 0
            ? last_save_at_ + std::chrono::duration_cast<Clock::duration>(
                                  std::chrono::duration<double>(options_.save_every_s))
            : Clock::time_point::max();
    pump([] { return true; });  // commands first
    std::unique_lock<std::mutex> lk(mutex_);
    if (!stimuli_.empty()) {  // a person's stimulus: at once, paused or not, at any speed
      auto s = std::move(stimuli_.front());
      stimuli_.pop_front();
      open_.reset();
      return s;
    }
    if (options_.paused) {
      lk.unlock();
      pump([this] { return !options_.paused || !stimuli_.empty(); }, until_save);
      continue;
    }
    const double eps = options_.episodes_per_s;
    if (eps > 0) {
      const auto next = last_answer_at_ + std::chrono::duration_cast<Clock::duration>(
                                              std::chrono::duration<double>(1.0 / eps));
      if (Clock::now() < next) {
        lk.unlock();
        pump([this, eps] {
          return options_.paused || !stimuli_.empty() || options_.episodes_per_s != eps;
        }, std::min(next, until_save));
        continue;
      }
    }
    open_.reset();
    return std::nullopt;
  }
}

NamingRating LiveSession::teach(const NamingEpisode& e) {
  const bool sent = e.sense == nullptr;
  json answer = {{"episode", e.number},      {"tick", e.tick},     {"source", e.source},
                 {"port", e.port},           {"answer", e.answer}, {"said", e.said},
                 {"expected", e.expected}};
  if (!sent) {
    answer["sense"] = e.sense->kind;
    answer["item"] = e.item;
  }
  // What the ifg holds back now (names inhibited by recent punishments), when there is one.
  if (e.result) {
    const auto ifg = e.result->outputs.find("ifg");
    if (ifg != e.result->outputs.end() && ifg->second.count("inhibition")) {
      const auto inhibition = ifg->second.at("inhibition").to(torch::kFloat32).contiguous();
      json held = json::object();
      const auto& vocab = brain_.config().vocabulary;
      for (int64_t k = 0; k < inhibition.numel() && k < static_cast<int64_t>(vocab.size()); ++k) {
        const float v = inhibition.data_ptr<float>()[k];
        if (v > 1e-4f) held[vocab[static_cast<size_t>(k)]] = v;
      }
      answer["inhibition"] = held;
    }
    // Senses tick only when their port carries something (brain.senses): count those ticks.
    std::lock_guard<std::mutex> lk(mutex_);
    for (const auto& sense : brain_.config().senses) {
      const auto it = e.result->outputs.find(sense);
      if (it == e.result->outputs.end()) continue;
      bool active = false;
      for (const auto& [port, t] : it->second) active = active || t.abs().max().item<float>() > 0;
      if (active) ++sense_ticks_[sense];
    }
  }
  tick_.store(e.tick);
  if (e.port == "text") {  // the text shown, as the person reads it
    std::string text;
    const auto row = e.shown.to(torch::kFloat32);
    for (int64_t j = 0; j < row.numel(); ++j) {
      const int c = static_cast<int>(row[j].item<float>());
      if (c > 0 && c < 256) text += static_cast<char>(c);
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    answer["text"] = text;
  }
  {
    std::lock_guard<std::mutex> lk(mutex_);
    open_ = std::make_unique<Open>();
    open_->number = e.number;
    open_->tick = e.tick;
    open_->label = e.label;
    open_->port = e.port;
    open_->answer = e.answer;
    open_->source = e.source;
    if (sent) {
      open_->values = e.shown;
    } else {
      open_->sense = e.sense->kind;
      open_->item = e.item;
    }
    open_->answered_at = Clock::now();
    last_answer_at_ = open_->answered_at;
    last_answer_ = answer;
    // Stream items are views of the task's data; what a person sent is its own (a sound is
    // 77 kB), so fewer of those are kept.
    auto& ring = sent ? sent_shown_ : shown_;
    ring.emplace_back(e.number, std::make_pair(e.port, e.shown));
    while (ring.size() > (sent ? kSentShownKept : kShownKept)) ring.pop_front();
  }
  publish("answer", answer, e.number, /*routine=*/!sent);
  NamingRating critic;
  critic.reward = e.right ? 1.0 : -1.0;
  {
    std::lock_guard<std::mutex> lk(mutex_);
    if (options_.critic && e.label >= 0) return critic;
    open_->waiting = true;
  }
  // A person rates: wait for it (a stimulus a person sent waits sent_wait_s with the critic on,
  // or until the next one arrives).
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double>(options_.sent_wait_s));
  pump([&] {
    return person_.has_value() || (options_.critic && e.label >= 0) ||
           (sent && (options_.critic ? Clock::now() >= deadline : false)) ||
           (sent && !stimuli_.empty());
  }, sent && options_.critic ? deadline : Clock::time_point::max());
  std::lock_guard<std::mutex> lk(mutex_);
  open_->waiting = false;
  if (person_) {
    auto r = *person_;
    person_.reset();
    return r;
  }
  NamingRating none;
  if (stop_.load()) {
    none.end = true;
    return none;
  }
  if (options_.critic && e.label >= 0) return critic;
  return none;
}

void LiveSession::observe(const NamingEpisode& e, const NamingRating& r,
                          const Neuromodulators& mod) {
  const bool learned = r.reward != 0 || r.treat;
  json fb = {{"episode", e.number}, {"reward", r.reward},         {"treat", r.treat},
             {"dopamine", mod.dopamine}, {"temperature", mod.temperature},
             {"expected", mod.expected}, {"delay_s", r.delay_s}, {"applied", learned}};
  Reply person;
  json person_answer;
  {
    std::lock_guard<std::mutex> lk(mutex_);
    if (open_) open_->rated = learned || person_reply_ != nullptr;
    counters_["episodes"] = counters_["episodes"].get<int64_t>() + 1;
    if (!e.sense) counters_["sent"] = counters_["sent"].get<int64_t>() + 1;
    if (person_reply_) {
      person = std::move(person_reply_);
      person_reply_.reset();
      person_answer = person_record_;
      applied_seq_ = person_answer["applied_seq"].get<int64_t>();
      person_answer.erase("applied_seq");
      person_answer.update(fb);
      fb = person_answer;
      fb["by"] = "person";
    } else if (learned) {
      counters_["critic_ratings"] = counters_["critic_ratings"].get<int64_t>() + 1;
      fb["by"] = "critic";
    }
    if (learned) last_feedback_ = fb;
    if (e.sense) {
      recent_.emplace_back(e.sense->kind, e.right ? 1 : 0);
      if (recent_.size() > 4 * kWindow) recent_.erase(recent_.begin(), recent_.begin() + kWindow);
    }
    if (learned || person) {
      recent_reward_.push_back(r.reward > 0);
      if (recent_reward_.size() > 4 * kWindow)
        recent_reward_.erase(recent_reward_.begin(), recent_reward_.begin() + kWindow);
    }
  }
  if (learned || person) publish("feedback", fb, e.number, /*routine=*/!person);
  if (person) reply(person, person_answer);
  if (seconds_since(last_metrics_at_) < options_.metrics_every_s) return;
  // Metrics and the regions' activity, at most every metrics_every_s.
  const double dt = seconds_since(last_metrics_at_);
  last_metrics_at_ = Clock::now();
  json by_sense = json::object();
  std::map<std::string, std::vector<int>> hits;
  json metrics;
  {
    std::lock_guard<std::mutex> lk(mutex_);
    for (const auto& [kind, right] : recent_) hits[kind].push_back(right);
    for (const auto& [kind, v] : hits) by_sense[kind] = mean_of(v, kWindow);
    std::vector<int> all;
    for (const auto& p : recent_) all.push_back(p.second);
    metrics = {{"episode", e.number},
               {"tick", brain_.ticks()},
               {"ticks_per_s", metrics_ticks_ >= 0 && dt > 0 ? double(brain_.ticks() - metrics_ticks_) / dt : 0.0},
               {"accuracy", mean_of(all, kWindow)},
               {"accuracy_by_sense", by_sense},
               {"reward_rate", mean_of(recent_reward_, kWindow)},
               {"dopamine", last_feedback_.is_object() ? last_feedback_.value("dopamine", 0.0) : 0.0},
               {"temperature",
                last_feedback_.is_object() ? last_feedback_.value("temperature", 1.0) : 1.0},
               {"treats", counters_["treats"]}};
  }
  metrics_ticks_ = brain_.ticks();
  json regions = json::array();
  if (e.result)
    for (const auto& name : brain_.order()) {
      json ports = json::object();
      const auto it = e.result->outputs.find(name);
      double activity = 0;
      if (it != e.result->outputs.end())
        for (const auto& [port, t] : it->second) {
          const double a = t.numel() > 0 ? t.abs().mean().item<double>() : 0.0;
          ports[port] = a;
          activity = std::max(activity, a);
        }
      // What it learned since the last metrics: each counter that moved is a learning event.
      json learned = json::object();
      if (!brain_.bus())
        for (const auto& [key, value] : brain_.region(name).learning()) {
          learned[key] = value;
          const std::string id = name + "." + key;
          const bool known = learning_.count(id) > 0;
          auto& before = learning_[id];
          if (known && before != value)
            publish("learning", {{"region", name}, {"counter", key}, {"from", before}, {"to", value},
                                 {"tick", brain_.ticks()}});
          before = value;
        }
      regions.push_back({{"name", name},
                         {"state_values", state_values_[name]},
                         {"activity", activity},
                         {"ports", ports},
                         {"learning", learned}});
    }
  metrics["regions"] = regions;
  {
    std::lock_guard<std::mutex> lk(mutex_);
    last_metrics_ = metrics;
  }
  publish("metrics", metrics);
}

void LiveSession::count_person(const FeedbackRecord& r) {
  auto add = [this](const char* key) { counters_[key] = counters_[key].get<int64_t>() + 1; };
  if (r.treat) add("treats");
  if (r.kind == "words" && r.reward > 0) add("praise");
  if (r.kind == "words" && r.reward < 0) add("scolding");
  add("person_ratings");
}

void LiveSession::save() {
  brain_.save();
  json c;
  {
    std::lock_guard<std::mutex> lk(mutex_);
    c = {{"format", 1},
         {"feedback_seq", applied_seq_},
         {"tick", brain_.ticks()},
         {"counters", counters_}};
  }
  // After the brain: a crash between the two replays feedback the brain holds already (twice
  // is the lesser harm than never).
  write_file_atomic((fs::path(brain_.config().state_dir) / kCountersFile).string(), c.dump(1) + "\n");
  last_save_at_ = Clock::now();
}

int64_t LiveSession::recover() {
  recovered_ = true;
  const fs::path counters = fs::path(brain_.config().state_dir) / kCountersFile;
  int64_t saved_seq = 0;
  if (fs::exists(counters)) {
    try {
      const json c = json::parse(read_file(counters.string()));
      saved_seq = c.at("feedback_seq").get<int64_t>();
      std::lock_guard<std::mutex> lk(mutex_);
      for (const auto& [k, v] : c.at("counters").items()) counters_[k] = v;
    } catch (const std::exception& e) {
      throw FormatError(counters.string() + ": not the dashboard's counters (" + e.what() +
                        "); move it away to start them anew");
    }
  }
  {
    std::lock_guard<std::mutex> lk(mutex_);
    applied_seq_ = saved_seq;
  }
  const auto records = read_feedback_log(log_->path(), saved_seq);
  if (records.empty()) return 0;
  log_info("feedback log: replaying {} ratings given after the last save", records.size());
  int64_t skipped = 0;
  for (const auto& r : records) {
    torch::Tensor values = r.values;
    if (!values.defined()) {
      const auto it = std::find_if(data_.senses.begin(), data_.senses.end(),
                                   [&](const NamingSense& s) { return s.kind == r.sense; });
      if (it == data_.senses.end() || r.item < 0 || r.item >= it->items.size(0)) {
        ++skipped;
        continue;
      }
      values = it->items[r.item];
    }
    if (values.numel() != port_size(r.port)) {
      ++skipped;
      continue;
    }
    brain_.tick({{r.port, values}});
    tick_.store(brain_.ticks());
    if (r.reward != 0 || r.treat) brain_.feedback(r.reward, r.treat, r.delay_s);
    std::lock_guard<std::mutex> lk(mutex_);
    applied_seq_ = r.seq;
    ++replayed_;
    count_person(r);
  }
  if (skipped > 0)
    log_warn("feedback log: {} ratings could not be replayed (their stimulus is not in this "
             "task's data or port)", skipped);
  save();
  publish("replay", {{"replayed", replayed_}, {"skipped", skipped}, {"applied_seq", applied_seq_}});
  return replayed_;
}

void LiveSession::wipe_state() {
  const fs::path dir = brain_.config().state_dir;
  for (const auto& entry : fs::directory_iterator(dir))
    if (fs::absolute(entry.path()) != fs::absolute(log_->path())) fs::remove_all(entry.path());
  log_->clear();
  const auto fresh = brain_.load_or_initialise();
  develop_senses(brain_, data_, fresh, static_cast<uint64_t>(brain_.config().seed));
  {
    std::lock_guard<std::mutex> lk(mutex_);
    for (auto& [k, v] : counters_.items()) v = 0;
    applied_seq_ = 0;
    replayed_ = 0;
    recent_.clear();
    recent_reward_.clear();
    sense_ticks_.clear();
    last_feedback_ = json();
    open_.reset();
  }
  save();
  log_info("wipe: {} born again ({} regions grown)", dir.string(), fresh.size());
}

NamingResult LiveSession::run(int64_t steps) {
  started_ = last_save_at_ = last_metrics_at_ = Clock::now();
  ticks_at_start_ = brain_.ticks();
  tick_.store(brain_.ticks());
  running_.store(true);
  NamingResult result;
  auto finish = [this] {
    std::deque<Reply> left;
    {
      std::lock_guard<std::mutex> lk(mutex_);
      running_.store(false);
      left.swap(commands_);
      if (person_reply_) left.push_back(std::move(person_reply_));
      person_reply_.reset();
    }
    for (auto& c : left)
      reply_error(c, std::make_exception_ptr(Busy("the brain has stopped", 503)));
    events_cv_.notify_all();
  };
  try {
    if (!recovered_) recover();
    NamingOptions no;
    no.steps = steps > 0 ? steps : std::numeric_limits<int64_t>::max();
    no.headless = false;  // the teacher below gives the critic's rating when the critic is on
    no.save_every_s = 0;  // saved by world(), with the feedback log's position
    no.stop = &stop_;
    no.words_threshold = options_.words_threshold;
    no.teacher = [this](const NamingEpisode& e) { return teach(e); };
    no.world = [this] { return world(); };
    no.on_episode = [this](const NamingEpisode& e, const NamingRating& r,
                           const Neuromodulators& m) { observe(e, r, m); };
    result = run_naming(brain_, data_, no);
    save();
  } catch (...) {
    finish();
    throw;
  }
  finish();
  return result;
}

void LiveSession::stop() {
  stop_.store(true);
  wake_.notify_all();
  events_cv_.notify_all();
}

}  // namespace elarin::brain

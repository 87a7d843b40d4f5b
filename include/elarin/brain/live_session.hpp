// A live session: the brain runs the naming task while people and programs watch and teach it
// from other threads — the dashboard's engine, without HTTP. They pause it, limit its speed,
// turn the critic off (a person alone teaches), show it stimuli of their own (an image, a sound,
// a text), rate its latest answer (-1, 0, +1), give it a treat or words the amygdala appraises,
// save and wipe it; they follow it through a stream of events. Every person's feedback is
// written to the feedback log (brain/feedback_log.hpp) before it is acted on, and what a crash
// lost from the brain's last save is replayed from it at the next start.
// The task runs on the thread that calls run(); every other method may be called from any
// thread and waits for the task's thread to carry it out. Leaves out HTTP: serve/brain_server.
//
//   #include "elarin/regions/registry.hpp"
//   elarin::Config config;
//   elarin::brain::BrainSetup setup(elarin::regions::region_table());
//   setup.bind(config);
//   elarin::brain::Brain brain(setup);
//   auto data = elarin::brain::mnist_naming_data("data/mnist", /*dev=*/5000, /*seed=*/1);
//   elarin::brain::develop_senses(brain, data, brain.load_or_initialise(), /*seed=*/1);
//   elarin::brain::LiveOptions options;
//   options.episodes_per_s = 2;  // slow enough to follow
//   elarin::brain::LiveSession session(brain, data, options);
//   std::thread task([&] { session.run(/*steps=*/0); });  // 0: until stop()
//   nlohmann::json answer = session.feedback({{"treat", true}});  // the latest answer
//   session.stop();
//   task.join();
#pragma once

#include <nlohmann/json.hpp>
#include <torch/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "elarin/brain/feedback_log.hpp"
#include "elarin/brain/naming_task.hpp"
#include "elarin/core/errors.hpp"

namespace elarin::brain {

struct LiveOptions {
  bool critic = true;          // the critic rates the stream's answers; false: a person alone
  double episodes_per_s = 0;   // speed limit so a person can follow; 0 = as fast as it runs
  bool paused = false;         // start paused
  double sent_wait_s = 10;     // critic on: how long a stimulus a person sent waits for a rating
  size_t stimulus_queue = 4;   // stimuli waiting to be shown; one more is refused (Busy)
  size_t event_history = 1024;  // events kept for a client that reconnects (Last-Event-ID)
  double words_threshold = 0.3;  // |valence| of typed words that counts as a rating
  double save_every_s = 60;     // periodic save (0: only at the end and when asked)
  double metrics_every_s = 0.5;  // a "metrics" event at most this often
  std::string feedback_log;     // default: <brain.state_dir>/feedback.jsonl
};

// Feedback for an answer that is no longer the latest, and similar conflicts with the brain's
// state (HTTP 409).
class Conflict : public Error {
 public:
  using Error::Error;
};
// Too many stimuli waiting, or the task has ended (HTTP 429 / 503).
class Busy : public Error {
 public:
  Busy(const std::string& what, int status) : Error(what), status(status) {}
  int status;
};

struct LiveEvent {
  int64_t id = 0;
  std::string type;      // answer | feedback | metrics | learning | control | replay
  std::string data;      // JSON text
  int64_t episode = 0;   // answer, feedback: the episode
  bool routine = false;  // a stream answer or the critic's rating: a client may sample these
};

// Keeps every event but routine ones, and of those an answer at most every 1/rate seconds and
// the critic's rating of an answer kept (a page cannot follow hundreds a second, and following
// them all costs the CPU the brain runs on). One per client; rate 0 keeps all.
class EventSampler {
 public:
  explicit EventSampler(double rate) : rate_(rate) {}
  bool keep(const LiveEvent& e, std::chrono::steady_clock::time_point now);

 private:
  double rate_;
  std::chrono::steady_clock::time_point last_{};
  int64_t kept_episode_ = -1;
};

// A stimulus from what a person sent: an image (H, W, 3) uint8 to the port's square of gray
// values in [0, 1] (as MNIST's); sound at 16 kHz to the port's window (leading silence cut,
// then the first `size` samples, zero-padded); text to its bytes (as the stream's text).
torch::Tensor image_to_port(const torch::Tensor& rgb, int64_t size);
torch::Tensor sound_to_port(const torch::Tensor& samples, int64_t size);
torch::Tensor text_to_port(const std::string& text, int64_t size);

class LiveSession {
 public:
  LiveSession(Brain& brain, const NamingData& data, LiveOptions options);
  ~LiveSession();

  // Replays the feedback logged after the brain's last save (what a crash took), then saves;
  // returns the records replayed. run() calls it first unless it was called. Task's thread.
  int64_t recover();
  // Runs the task until `steps` rated stream episodes (0: until stop()). Saves at the end.
  // Call once.
  NamingResult run(int64_t steps);
  void stop();
  bool running() const { return running_.load(); }

  // Feedback for the latest answer (`episode` may name it; another is a Conflict):
  // {"rating": -1|0|1} | {"treat": true} | {"words": "..."}. Logged before it is acted on.
  // Returns {"seq", "episode", "reward", "treat", "applied", "dopamine", ...}.
  nlohmann::json feedback(const nlohmann::json& request);
  // Shows `values` (of the port's size) next, before the stream goes on; Busy when the queue
  // is full. Returns {"queued": position}.
  nlohmann::json stimulus(const std::string& port, torch::Tensor values, const std::string& source);
  // {"pause": bool, "episodes_per_s": x, "critic": bool, "save": true,
  //  "wipe": true with "confirm": "wipe"}; returns the new state's controls.
  nlohmann::json control(const nlohmann::json& request);
  // What the page shows at load: controls, counters, the latest answer, regions, metrics.
  nlohmann::json state();
  // Events with id > after, waiting up to `wait` for the first; [] on timeout or when stopped.
  std::vector<LiveEvent> events_after(int64_t after, std::chrono::milliseconds wait);
  int64_t last_event_id();
  // What episode `number` was shown (its port and values), while it is kept (the last 4096 of
  // the stream, the last 64 a person sent).
  std::optional<std::pair<std::string, torch::Tensor>> shown(int64_t number);
  // The size of the world's port `port` (image, audio, text); UsageError if the brain has none.
  int64_t port_size(const std::string& port) const;

 private:
  struct Open;  // the latest answer, open for feedback until the next tick
  struct Command;
  using Reply = std::shared_ptr<Command>;
  // Runs `work` on the task's thread and returns its result (rethrows its exception).
  nlohmann::json on_task(std::function<nlohmann::json()> work);
  // The same where `work` may answer later (reply(...) from another task-thread step).
  nlohmann::json on_task_deferred(std::function<void(const Reply&)> work);
  static void reply(const Reply& r, nlohmann::json value);
  static void reply_error(const Reply& r, std::exception_ptr e);
  // Task thread: carries out waiting commands; then waits until `done` or `until` (or a
  // command, which it carries out), returning whether `done` holds.
  bool pump(const std::function<bool()>& done,
            std::chrono::steady_clock::time_point until = std::chrono::steady_clock::time_point::max());
  void publish(const std::string& type, nlohmann::json data, int64_t episode = 0,
               bool routine = false);
  std::optional<NamingStimulus> world();
  NamingRating teach(const NamingEpisode& e);
  void observe(const NamingEpisode& e, const NamingRating& r, const Neuromodulators& mod);
  void apply_feedback(const nlohmann::json& request, const Reply& reply);
  nlohmann::json controls_locked() const;
  void save();
  bool recovered_ = false;
  void wipe_state();
  void count_person(const FeedbackRecord& r);  // counters_ (mutex_ held)

  Brain& brain_;
  const NamingData& data_;
  LiveOptions options_;
  std::unique_ptr<FeedbackLog> log_;
  std::atomic<bool> stop_{false}, running_{false};

  mutable std::mutex mutex_;
  std::condition_variable wake_;  // the task's thread: a command, a control, stop
  std::deque<Reply> commands_;
  std::deque<NamingStimulus> stimuli_;
  std::unique_ptr<Open> open_;
  std::optional<NamingRating> person_;  // a person's rating the teacher is waiting for
  Reply person_reply_;                  // that rating's request, answered once it is applied
  nlohmann::json person_record_;        // what the reply says besides the neuromodulators

  std::mutex events_mutex_;
  std::condition_variable events_cv_;
  std::deque<LiveEvent> events_;
  int64_t next_event_ = 1;

  // Counters (task thread writes, guarded by mutex_ for state()).
  nlohmann::json counters_;
  nlohmann::json last_answer_, last_feedback_, last_metrics_;
  int64_t applied_seq_ = 0, replayed_ = 0;
  std::chrono::steady_clock::time_point last_answer_at_, last_save_at_, last_metrics_at_, started_;
  int64_t ticks_at_start_ = 0, metrics_ticks_ = -1;
  std::atomic<int64_t> tick_{0};                // the brain's ticks, for other threads
  std::map<std::string, int64_t> sense_ticks_;  // sense -> ticks it was active in (this run)
  std::map<std::string, double> learning_;      // "region.counter" -> its last value
  std::deque<std::pair<int64_t, std::pair<std::string, torch::Tensor>>> shown_, sent_shown_;
  std::map<std::string, int64_t> state_values_;  // region -> values its saved state holds
  std::vector<std::pair<std::string, int>> recent_;  // (sense kind, right) of stream answers
  std::vector<int> recent_reward_;
};

}  // namespace elarin::brain

// `elarin brain --serve`: the Brain API and the dashboard (static files under web/) over a live
// session (brain/live_session.hpp). Internal to src/serve and the CLI; the routes are in
// brain_server.cpp and documented in docs/DASHBOARD.md.
#pragma once

#include <string>

#include "elarin/brain/live_session.hpp"
#include "service.hpp"

namespace elarin::serve {

struct BrainServeOptions {
  HttpOptions http;     // port 8090 by default (the CLI's)
  std::string web_dir;  // the dashboard's files; empty: find_web_dir()
};

// UsageError for contradicting options (call before the brain grows: fails fast).
void check_brain_options(const BrainServeOptions& options);

// The dashboard's files: $ELARIN_WEB, else web/ beside the binary's directory or in the source
// tree this binary was built from. Error if none holds index.html.
std::string find_web_dir();

// Listens (printing "listening on http://HOST:PORT" on stdout), runs the session on this thread
// for `steps` rated episodes (0: until SIGINT or SIGTERM), then stops serving. Returns the run's
// result. UsageError for contradicting options (before anything starts).
brain::NamingResult serve_brain(const BrainServeOptions& options, brain::LiveSession& session,
                                int64_t steps);

}  // namespace elarin::serve

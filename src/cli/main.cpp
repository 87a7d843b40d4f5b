// The `elarin` binary: everything lives in the library; this only forwards to run_cli.
#include "elarin/cli/cli.hpp"

int main(int argc, char** argv) { return elarin::run_cli(argc, argv); }

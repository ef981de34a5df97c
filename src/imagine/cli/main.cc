#include "imagine/cli/app.h"

int main(int argc, char** argv) { return imagine::cli::run(argc, argv); }

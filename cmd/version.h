/* version.h - the one place the release version lives. */
#ifndef CODERUNNER_VERSION_H
#define CODERUNNER_VERSION_H
#define CODERUNNER_VERSION "0.1.0"
#endif

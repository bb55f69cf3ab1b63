#include "rss.h"

#include <sys/resource.h>

namespace pnm {
double peak_rss_mib() {
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0; // Linux reports KiB
}
} // namespace pnm

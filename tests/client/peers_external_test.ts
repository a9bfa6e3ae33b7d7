// ClientSession against servers in other processes: Debian's nginx-light as
// an origin (static files, `return`, gzip, a proxied chunked upstream) and
// a Python aiohttp web server. Each suite skips, with its reason, where the
// peer is not installed (scripts/ci_setup.sh installs both). The checks are
// in tests/_helpers/peer_suite.ts.

import {
  aiohttpMissing,
  nginxMissing,
  startAiohttp,
  startNginx,
} from "../_helpers/peer_external.ts";
import { peerSuite } from "../_helpers/peer_suite.ts";

peerSuite("nginx", nginxMissing(), startNginx);
peerSuite("Python aiohttp", aiohttpMissing(), startAiohttp);

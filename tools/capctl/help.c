/*
 * tools/capctl/help.c - the manual: one page per verb, shown by
 * 'capctl help VERB', 'capctl VERB --help' and 'capctl --help'.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "capctl.h"
#include "version.h"

#define EXIT_TEXT \
	"EXIT STATUS\n" \
	"    0  success\n" \
	"    1  the operation failed or was refused (invalid policy, verification\n" \
	"       failed, already exists, ...)\n" \
	"    2  usage error (unknown verb or option, missing argument)\n" \
	"    3  system or I/O error\n"

#define DIR_TEXT \
	"    --dir DIR\n" \
	"        The authority's state directory. Default: $CAPTUN_DIR if set,\n" \
	"        else " CAPTUN_AUTHORITY_DIR ". Accepted by every verb.\n" \
	JSON_TEXT \
	"    -h, --help\n" \
	"        Show this page.\n"

#define JSON_TEXT \
	"    --json\n" \
	"        Print one JSON object on stdout instead of text: the facts the\n" \
	"        text would tell, \"ok\" and, on failure, \"error\". Accepted by\n" \
	"        every verb (and before the verb).\n"

#define STATE_TEXT \
	"    --state DIR\n" \
	"        The host's state directory (shared with capshim and capd).\n" \
	"        Default: 'dir' of the configuration file ($CAPTUN_CONFIG, else\n" \
	"        " CAPTUN_CONFIG_PATH "), else " CAPTUN_STATE_DIR ".\n"

#define PUBLISH_TEXT \
	"    --publish SOCKET\n" \
	"        After writing, publish every token and the revocation list to the\n" \
	"        capd listening on SOCKET, as 'capctl publish --capd SOCKET' does.\n" \
	"        Default: $CAPTUN_CAPD if set; otherwise nothing is published.\n"

static const char page_main[] =
	"NAME\n"
	"    capctl - administer a captun network: authority, policy, tokens\n"
	"\n"
	"SYNOPSIS\n"
	"    capctl [--dir DIR] VERB [OPTIONS] [ARGUMENTS]\n"
	"    capctl help [VERB]\n"
	"\n"
	"DESCRIPTION\n"
	"    captun gives every host a bit and a signed capability: the set of\n"
	"    hosts it may reach, ANDed with the grants of the users logged in on\n"
	"    it. capctl is the authority's tool: it holds the authority's signing\n"
	"    key, edits the policy (hosts, users, groups), issues the signed host\n"
	"    and user tokens that capd distributes, and revokes them.\n"
	"\n"
	"VERBS\n"
	"    init                     create the state directory and authority key\n"
	"    keygen [--out DIR]       create a host's key pairs (run on the host)\n"
	"    host add|keys|del        add a host, set its public keys, delete it\n"
	"    host bundle NAME         write the one file a new host needs\n"
	"    host join BUNDLE         install a bundle on the host (run on the host)\n"
	"    user add|del             add or delete a user\n"
	"    policy check [FILE]      validate a policy file and summarise it\n"
	"    issue                    issue every token the policy calls for\n"
	"    grant SUBJECT TARGET...  let a user or host reach more hosts\n"
	"    revoke SUBJECT TARGET... take reach away, revoking the old token\n"
	"    token show FILE          decode and verify a token\n"
	"    status                   the state of every host's and user's token\n"
	"    renew                    sign tokens again before they expire\n"
	"    shim status              a host's data plane: epoch, peers, counters\n"
	"    publish [--capd SOCKET]  hand tokens and revocations to a host's capd\n"
	"    metrics                  both daemons' counters, Prometheus text format\n"
	"    audit verify|report|pull denied-flow records: check, report, collect\n"
	"    why SRC DST              would SRC reach DST? which grant lacks what\n"
	"    help [VERB]              show the manual of a verb\n"
	"\n"
	"OPTIONS\n"
	DIR_TEXT
	"    --version\n"
	"        Print the version.\n"
	"\n"
	"    The verbs run at the authority (init, host add|keys|del|bundle,\n"
	"    user, policy, issue, grant, revoke, renew, token, status, publish)\n"
	"    work on DIR; those run on a host (keygen, host join, shim status,\n"
	"    metrics) on the host's state directory and sockets, as the\n"
	"    configuration file " CAPTUN_CONFIG_PATH " says (captun.conf(5)).\n"
	"\n"
	"FILES\n"
	"    DIR/authority.key    the authority's Ed25519 private key (0600)\n"
	"    DIR/authority.pub    its public key, which every host needs\n"
	"    DIR/policy.json      the policy: hosts, users and groups\n"
	"    DIR/state.json       serial counters, revoked serials, issued tokens\n"
	"    DIR/revocation.list  the signed list of revoked token serials\n"
	"    DIR/tokens/          host-NAME.token and user-NAME.token\n"
	"    DIR/.lock            locked by every verb that writes\n"
	"\n"
	"ENVIRONMENT\n"
	"    CAPTUN_DIR     the state directory when --dir is not given\n"
	"    CAPTUN_CAPD    a capd socket: host, user, issue, grant, revoke and\n"
	"                   renew publish their result to it (see 'capctl help\n"
	"                   publish')\n"
	"    CAPTUN_CONFIG  the configuration file the host-side verbs read\n"
	"                   (default " CAPTUN_CONFIG_PATH ")\n"
	"\n"
	EXIT_TEXT
	"\n"
	"EXAMPLE\n"
	"    capctl init\n"
	"    capctl keygen --out " CAPTUN_STATE_DIR "\n"
	"    capctl host add host1 --bit 1 --pub " CAPTUN_STATE_DIR "/host.pub --overlay 10.77.0.1\n"
	"    capctl user add alice --reach host1\n"
	"    capctl status\n"
	"\n"
	"SEE ALSO\n"
	"    capctl(8), captun.conf(5), captun-policy(5), capshim(8), capd(8),\n"
	"    pam_capd(8)\n";

static const char page_init[] =
	"NAME\n"
	"    capctl init - create an authority's state directory\n"
	"\n"
	"SYNOPSIS\n"
	"    capctl init [--dir DIR]\n"
	"\n"
	"DESCRIPTION\n"
	"    Creates DIR (mode 0700) if needed and in it a new authority key pair,\n"
	"    an empty policy ({\"hosts\": {}, \"users\": {}, \"groups\": {}}),\n"
	"    state.json, the tokens/ directory and an empty signed revocation\n"
	"    list. Refuses a directory that already holds any of these files: an\n"
	"    authority key is never replaced, since every token and every host\n"
	"    depends on it. Keep a backup of authority.key somewhere safe.\n"
	"\n"
	"OPTIONS\n"
	DIR_TEXT
	"\n"
	"FILES\n"
	"    Creates DIR/authority.key (0600), DIR/authority.pub, DIR/policy.json,\n"
	"    DIR/state.json, DIR/revocation.list and DIR/tokens/.\n"
	"\n"
	EXIT_TEXT
	"\n"
	"EXAMPLE\n"
	"    capctl init --dir /etc/captun\n";

static const char page_keygen[] =
	"NAME\n"
	"    capctl keygen - create a host's key pairs\n"
	"\n"
	"SYNOPSIS\n"
	"    capctl keygen [--out DIR]\n"
	"\n"
	"DESCRIPTION\n"
	"    Run on the host itself: generates its X25519 tunnel key pair and its\n"
	"    Ed25519 signing key pair into DIR/host.key (private, mode 0600; it\n"
	"    never leaves the host) and DIR/host.pub (public). Copy host.pub to\n"
	"    the admin, who adds it to the policy with 'capctl host add --pub' or\n"
	"    'capctl host keys'. Refuses to overwrite existing files.\n"
	"\n"
	"OPTIONS\n"
	"    --out DIR\n"
	"        Where to write host.key and host.pub; created (0700) if missing.\n"
	"        Default: the host's state directory: 'dir' of the configuration\n"
	"        file, else " CAPTUN_STATE_DIR ".\n"
	DIR_TEXT
	"\n"
	"FILES\n"
	"    DIR/host.key   the host's private keys (0600)\n"
	"    DIR/host.pub   the host's public keys\n"
	"\n"
	EXIT_TEXT
	"\n"
	"EXAMPLE\n"
	"    capctl keygen --out " CAPTUN_STATE_DIR "\n"
	"    cat " CAPTUN_STATE_DIR "/host.pub     # give this to the admin\n";

static const char page_host[] =
	"NAME\n"
	"    capctl host - add a host, set its keys, delete it\n"
	"\n"
	"SYNOPSIS\n"
	"    capctl host add NAME --bit N [--reach T[,T...]] [--overlay ADDR]...\n"
	"                    [--endpoint IP:PORT] [--pub FILE]\n"
	"    capctl host keys NAME FILE\n"
	"    capctl host del NAME\n"
	"    capctl host bundle NAME [--out FILE]\n"
	"    capctl host join BUNDLE [--state DIR] [--force]\n"
	"\n"
	"DESCRIPTION\n"
	"    These verbs edit policy.json (keeping its order and the rest of its\n"
	"    content), check the result with the policy compiler before writing\n"
	"    anything, and then re-issue every token the change affects: adding a\n"
	"    host widens the grant of everyone whose reach holds \"*\" or a group\n"
	"    that names it. Tokens whose content changed get a new serial and the\n"
	"    old serial is revoked.\n"
	"\n"
	"    add    adds host NAME with bit N (0..1023, unique). Without --pub the\n"
	"           host has no token until its keys are set with 'host keys'.\n"
	"    keys   sets the public keys of NAME from FILE, a host.pub written by\n"
	"           'capctl keygen' on the host.\n"
	"    del    deletes NAME, removes it from every reach list and group (each\n"
	"           removal is reported), revokes its token and removes the file.\n"
	"    bundle writes FILE (default NAME.bundle): one JSON document with\n"
	"           everything host NAME needs from the authority - its public\n"
	"           key, the revocation list, every host and user token and the\n"
	"           policy (the peers' endpoints). Nothing in it is secret. NAME\n"
	"           must have a valid token.\n"
	"    join   run on the host, as root: verifies every object of BUNDLE\n"
	"           against the bundle's authority, checks that the host's own\n"
	"           token carries the keys of DIR/host.key ('capctl keygen'), and\n"
	"           stores in the host's state directory what is newer than what\n"
	"           it holds, each file atomically. Running daemons take the new\n"
	"           files in by themselves. A host of another authority is refused\n"
	"           unless --force.\n"
	"\n"
	"    A host added while the network runs is picked up by every running\n"
	"    capshim as soon as its token reaches it (publish, or any peer that\n"
	"    has it): no restart. Hosts route the whole overlay prefix into\n"
	"    their interface ([capshim] route in captun.conf) for this.\n"
	"\n"
	"OPTIONS\n"
	"    --bit N\n"
	"        The host's bit in every capability mask.\n"
	"    --reach T[,T...]\n"
	"        Hosts, groups or \"*\" (every host) the host may reach. Repeatable.\n"
	"    --overlay ADDR\n"
	"        The host's overlay address, IPv4 or IPv6. Repeatable (one of each).\n"
	"        Signed into the host token: peers accept inner packets from the\n"
	"        host only with these source addresses.\n"
	"    --endpoint IP[:PORT]\n"
	"        The host's UDP underlay address: 192.0.2.1, 192.0.2.1:" CAPTUN_PORT_TEXT " or\n"
	"        [2001:db8::1]:" CAPTUN_PORT_TEXT "; the port defaults to capshim's, " CAPTUN_PORT_TEXT ".\n"
	"    --out FILE\n"
	"        bundle: where to write the bundle (default NAME.bundle).\n"
	STATE_TEXT
	"    --force\n"
	"        join: accept a bundle of another authority than the host's.\n"
	"    --pub FILE\n"
	"        The host.pub written by 'capctl keygen' on the host.\n"
	PUBLISH_TEXT
	DIR_TEXT
	"\n"
	"FILES\n"
	"    DIR/policy.json, DIR/tokens/host-NAME.token, DIR/revocation.list\n"
	"\n"
	EXIT_TEXT
	"\n"
	"EXAMPLE\n"
	"    capctl host add host2 --bit 2 --pub host2.pub --overlay 10.77.0.2\n"
	"    capctl host add host1 --bit 1 --reach host2 --pub host1.pub \\\n"
	"        --overlay 10.77.0.1 --overlay fd77::1 --endpoint 192.0.2.1\n"
	"    capctl host keys host2 host2.pub\n"
	"    capctl host bundle host1 --out host1.bundle\n"
	"    capctl host join host1.bundle      # on host1, as root\n"
	"    capctl host del host2\n";

static const char page_user[] =
	"NAME\n"
	"    capctl user - add or delete a user\n"
	"\n"
	"SYNOPSIS\n"
	"    capctl user add NAME [--reach T[,T...]]\n"
	"    capctl user del NAME\n"
	"\n"
	"DESCRIPTION\n"
	"    add    adds user NAME (the login name on the hosts) with the given\n"
	"           reach and issues the user's token.\n"
	"    del    deletes NAME, revokes the user's token and removes the file.\n"
	"    The policy is checked before it is written; nothing changes if the\n"
	"    result would be invalid.\n"
	"\n"
	"OPTIONS\n"
	"    --reach T[,T...]\n"
	"        Hosts, groups or \"*\" the user may reach. Repeatable.\n"
	PUBLISH_TEXT
	DIR_TEXT
	"\n"
	"FILES\n"
	"    DIR/policy.json, DIR/tokens/user-NAME.token, DIR/revocation.list\n"
	"\n"
	EXIT_TEXT
	"\n"
	"EXAMPLE\n"
	"    capctl user add alice --reach host1,host3\n"
	"    capctl user add bob\n"
	"    capctl user del bob\n";

static const char page_policy[] =
	"NAME\n"
	"    capctl policy check - validate a policy file\n"
	"\n"
	"SYNOPSIS\n"
	"    capctl policy check [--partial] [FILE]\n"
	"\n"
	"DESCRIPTION\n"
	"    Parses and compiles FILE (default: DIR/policy.json) exactly as capctl\n"
	"    and capd do, and prints a summary: every host with its bit, whether\n"
	"    its keys are set and its grant mask (bit ranges and host names),\n"
	"    every user's grant and every group's members. An invalid file gives\n"
	"    one error naming FILE and either LINE:COLUMN (broken JSON) or the\n"
	"    path to the offending value (hosts.host1.reach[0]: ...). Two hosts\n"
	"    with the same bit, the same key or the same overlay address make a\n"
	"    file invalid. A host without an overlay address makes it incomplete:\n"
	"    no peer could send to that host, so it is an error (exit 1) unless\n"
	"    --partial.\n"
	"\n"
	"OPTIONS\n"
	"    --partial\n"
	"        A policy still being written: hosts without an overlay address\n"
	"        are noted, not errors.\n"
	DIR_TEXT
	"\n"
	"EXIT STATUS\n"
	"    0  the file is valid (and complete, unless --partial)\n"
	"    1  the file is invalid or incomplete\n"
	"    2  usage error\n"
	"    3  the file cannot be read\n"
	"\n"
	"EXAMPLE\n"
	"    capctl policy check\n"
	"    capctl policy check --partial " CAPTUN_AUTHORITY_DIR "/policy.json\n";

static const char page_issue[] =
	"NAME\n"
	"    capctl issue - issue every token the policy calls for\n"
	"\n"
	"SYNOPSIS\n"
	"    capctl issue [--validity DAYS] [--force]\n"
	"\n"
	"DESCRIPTION\n"
	"    Brings DIR/tokens/ in line with the policy: a host token (name, bit,\n"
	"    overlay addresses, public keys, grant) for every host and a user token\n"
	"    for every user, signed by the authority and armored. A token is\n"
	"    re-issued only when it is missing, unusable, revoked or expired, when\n"
	"    its content (grant, bit, addresses, keys) differs from the policy,\n"
	"    when less than a third of its validity remains, or with --force.\n"
	"    When the content changed, the old serial is revoked in a new signed\n"
	"    revocation list. Tokens of hosts and users no longer in the policy\n"
	"    are revoked and removed.\n"
	"\n"
	"    Serials are unique across the authority and never reused. Tokens\n"
	"    are valid from 5 minutes ago (clock skew) for DAYS days.\n"
	"\n"
	"    A host without public keys in the policy gets no token; that is an\n"
	"    error naming the host (the other tokens are still issued).\n"
	"\n"
	"OPTIONS\n"
	"    --validity DAYS\n"
	"        Validity of new tokens, 1..3650 days. Default: 30.\n"
	"    --force\n"
	"        Re-issue every token, even current ones (old serials whose\n"
	"        content did not change stay valid until they expire).\n"
	PUBLISH_TEXT
	DIR_TEXT
	"\n"
	"FILES\n"
	"    DIR/tokens/host-NAME.token, DIR/tokens/user-NAME.token,\n"
	"    DIR/revocation.list, DIR/state.json\n"
	"\n"
	EXIT_TEXT
	"\n"
	"EXAMPLE\n"
	"    capctl issue --validity 7\n";

static const char page_grant[] =
	"NAME\n"
	"    capctl grant - let a user or host reach more hosts\n"
	"\n"
	"SYNOPSIS\n"
	"    capctl grant [user:|host:]SUBJECT TARGET...\n"
	"\n"
	"DESCRIPTION\n"
	"    Appends each TARGET (a host name, a group name or \"*\") to the reach\n"
	"    list of SUBJECT, a user or a host, skipping those already there.\n"
	"    A name that is both a user and a host must be prefixed with user:\n"
	"    or host:. The new policy is checked and written, then SUBJECT's\n"
	"    token is re-issued with a new serial and the old serial revoked.\n"
	"    Prints the new grant mask.\n"
	"\n"
	"OPTIONS\n"
	PUBLISH_TEXT
	DIR_TEXT
	"\n"
	"FILES\n"
	"    DIR/policy.json, DIR/tokens/, DIR/revocation.list, DIR/state.json\n"
	"\n"
	EXIT_TEXT
	"\n"
	"EXAMPLE\n"
	"    capctl grant alice host2\n"
	"    capctl grant host:host1 host2\n";

static const char page_revoke[] =
	"NAME\n"
	"    capctl revoke - take reach away from a user or host\n"
	"\n"
	"SYNOPSIS\n"
	"    capctl revoke [user:|host:]SUBJECT TARGET...\n"
	"\n"
	"DESCRIPTION\n"
	"    Removes each TARGET (host, group or \"*\") from SUBJECT's reach so that\n"
	"    SUBJECT reaches none of its hosts any more. When a target host is\n"
	"    reached only through a group or \"*\", that entry is replaced by its\n"
	"    hosts minus the revoked ones, and capctl says so on stderr. Revoking\n"
	"    a group removes the group and its hosts.\n"
	"\n"
	"    Then, in an order that fails closed if interrupted: the new policy\n"
	"    is written; the old token's serial is revoked in a new signed\n"
	"    revocation list (and state.json); the new token is written. Prints\n"
	"    the new grant mask. If interrupted, 'capctl status' shows the stale\n"
	"    token and 'capctl issue' completes the change.\n"
	"\n"
	"OPTIONS\n"
	PUBLISH_TEXT
	DIR_TEXT
	"\n"
	"FILES\n"
	"    DIR/policy.json, DIR/tokens/, DIR/revocation.list, DIR/state.json\n"
	"\n"
	EXIT_TEXT
	"\n"
	"EXAMPLE\n"
	"    capctl revoke alice host2\n"
	"    capctl revoke host:host1 '*'\n";

static const char page_token[] =
	"NAME\n"
	"    capctl token show - decode and verify a token\n"
	"\n"
	"SYNOPSIS\n"
	"    capctl token show FILE [--json] [--authority PUBFILE]\n"
	"\n"
	"DESCRIPTION\n"
	"    Decodes FILE (an armored or raw binary host or user token) and\n"
	"    verifies it against the authority's public key and, if present,\n"
	"    DIR/revocation.list. Prints every field: type, name, bit, overlay\n"
	"    addresses and public keys (host tokens), the grant as bit ranges and,\n"
	"    where DIR/policy.json knows them, as host names, the serial, the\n"
	"    validity in UTC, the authority key id, whether the token still\n"
	"    matches the policy, and the verification status. What decodes is\n"
	"    printed even when verification fails.\n"
	"\n"
	"OPTIONS\n"
	"    --json\n"
	"        Print one JSON object instead of text.\n"
	"    --authority PUBFILE\n"
	"        Verify against this authority.pub instead of DIR/authority.pub.\n"
	DIR_TEXT
	"\n"
	"EXIT STATUS\n"
	"    0  the token verifies (authority, signature, validity, revocation)\n"
	"    1  it does not, or it does not decode\n"
	"    2  usage error\n"
	"    3  FILE cannot be read\n"
	"\n"
	"EXAMPLE\n"
	"    capctl token show " CAPTUN_AUTHORITY_DIR "/tokens/user-alice.token\n";

static const char page_status[] =
	"NAME\n"
	"    capctl status - the admin's view of hosts, users and tokens\n"
	"\n"
	"SYNOPSIS\n"
	"    capctl status [--json]\n"
	"\n"
	"DESCRIPTION\n"
	"    For every host: name, bit, whether its keys are set, reach as written\n"
	"    in the policy, grant mask as host names, token serial and expiry, and\n"
	"    the token's state; the same for every user; then the revocation\n"
	"    list's serial and size. A token is 'current' when it verifies and\n"
	"    matches the policy; otherwise it is shown as missing, stale (policy\n"
	"    changed, e.g. after an interrupted change), revoked, expired,\n"
	"    'renewal due' or unusable, and capctl tells you to run\n"
	"    'capctl issue' (or 'capctl renew' for tokens that only run out).\n"
	"    Tokens that expire within 7 days are counted on the last line.\n"
	"    Status only reads; it never changes anything.\n"
	"\n"
	"OPTIONS\n"
	"    --json\n"
	"        Print one JSON object instead of tables.\n"
	DIR_TEXT
	"\n"
	"EXIT STATUS\n"
	"    0  status shown (even if some tokens are stale)\n"
	"    1  the state directory or policy is invalid\n"
	"    2  usage error\n"
	"    3  system or I/O error\n"
	"\n"
	"EXAMPLE\n"
	"    capctl status --json | jq '.users[] | select(.token.state != \"current\")'\n";

static const char page_shim[] =
	"NAME\n"
	"    capctl shim status - a host's data plane, as its capshim reports it\n"
	"\n"
	"SYNOPSIS\n"
	"    capctl shim status [--socket PATH | --ifname NAME] [--json]\n"
	"\n"
	"DESCRIPTION\n"
	"    Asks the capshim running on this host, over its control socket,\n"
	"    for its state and prints it: the host, its current capability epoch\n"
	"    and mask, the users behind it; for every peer whether a session is\n"
	"    up, its endpoint, the epoch of its latest verified capability and\n"
	"    whether that reaches this host, packets and bytes each way, and\n"
	"    denied packets each way; then every non-zero drop counter by reason\n"
	"    (rx_replay, rx_decrypt, rx_denied, tx_denied, ...). It only reads;\n"
	"    no privilege is needed.\n"
	"\n"
	"    For a capshim in attach mode (capshim --attach IFNAME, under a\n"
	"    WireGuard or Nebula mesh) it also shows the interface, its MTU and\n"
	"    the route MTU left after the 8-byte stamp, where the programs are\n"
	"    pinned, the cgroup their hooks are on, whether packets of mesh peers\n"
	"    that are no captun host pass or are dropped, each program's link,\n"
	"    each map's entries against its size, and the kernel's counters of\n"
	"    what passed (stamped, verified, replies, control) next to the drops\n"
	"    (tx_connect_denied, rx_missing_stamp, rx_unknown_epoch, ...). Use\n"
	"    --ifname IFNAME there too, or caplab's --socket.\n"
	"\n"
	"OPTIONS\n"
	"    --socket PATH\n"
	"        The control socket. Default: [capshim] control of the\n"
	"        configuration file, else " CAPTUN_RUN_DIR "/IFNAME.sock with its\n"
	"        [capshim] ifname (default " CAPTUN_IFNAME ").\n"
	"    --ifname NAME\n"
	"        The socket of the capshim serving interface NAME:\n"
	"        /run/captun/NAME.sock.\n"
	"    --json\n"
	"        Print capshim's answer as it came (one JSON object).\n"
	"    -h, --help\n"
	"        Show this page.\n"
	"\n"
	"EXIT STATUS\n"
	"    0  status shown\n"
	"    1  capshim answered with an error\n"
	"    2  usage error\n"
	"    3  capshim could not be reached\n"
	"\n"
	"EXAMPLE\n"
	"    capctl shim status\n"
	"    capctl shim status --ifname " CAPTUN_IFNAME " --json\n";

static const char page_publish[] =
	"NAME\n"
	"    capctl publish - hand the authority's tokens and revocations to capd\n"
	"\n"
	"SYNOPSIS\n"
	"    capctl publish [--capd SOCKET]\n"
	"\n"
	"DESCRIPTION\n"
	"    Sends DIR/revocation.list and every host and user token under\n"
	"    DIR/tokens/, armored as they are, to the capd at SOCKET (one or more\n"
	"    'publish' requests of capd's control protocol). capd verifies each\n"
	"    object against the authority key of its host, stores it if it is\n"
	"    newer than what the host holds (a higher serial than the token of\n"
	"    the same name, a higher list serial), re-checks the tokens of the\n"
	"    users logged in there (a revoked one isolates the host while that\n"
	"    user is on), and has capshim pass what it stored to every peer, which\n"
	"    does the same. Everything is signed, so any host's capd will do.\n"
	"\n"
	"    Prints each object accepted, each one refused with the reason, and a\n"
	"    count; objects not newer than the host's are counted as ignored.\n"
	"    Publishing the same state twice is harmless. capd accepts publish\n"
	"    requests from root only.\n"
	"\n"
	"    The verbs that change tokens (host, user, issue, grant, revoke) do\n"
	"    this by themselves after writing when given --publish SOCKET or when\n"
	"    $CAPTUN_CAPD is set.\n"
	"\n"
	"OPTIONS\n"
	"    --capd SOCKET\n"
	"        capd's control socket. Default: $CAPTUN_CAPD if set, else\n"
	"        /run/captun/capd.sock.\n"
	DIR_TEXT
	"\n"
	"ENVIRONMENT\n"
	"    CAPTUN_CAPD  the default capd socket\n"
	"\n"
	"FILES\n"
	"    DIR/revocation.list, DIR/tokens/host-NAME.token,\n"
	"    DIR/tokens/user-NAME.token\n"
	"\n"
	"EXIT STATUS\n"
	"    0  published (whether or not anything was news to the host)\n"
	"    1  capd refused the request (e.g. not root)\n"
	"    2  usage error\n"
	"    3  capd could not be reached, or a file could not be read\n"
	"\n"
	"EXAMPLE\n"
	"    capctl grant alice host2 && capctl publish --capd " CAPTUN_CAPD_SOCKET "\n"
	"    CAPTUN_CAPD=" CAPTUN_CAPD_SOCKET " capctl revoke alice host2\n";

static const char page_renew[] =
	"NAME\n"
	"    capctl renew - sign tokens again before they expire\n"
	"\n"
	"SYNOPSIS\n"
	"    capctl renew [--within DAYS] [--validity DAYS] [--all] [[user:|host:]NAME]\n"
	"\n"
	"DESCRIPTION\n"
	"    Signs a new token, with the same content (grant, bit, addresses,\n"
	"    keys) and a new serial, for every token that has expired or has\n"
	"    less than a third of its validity left, or that expires within\n"
	"    --within DAYS; with NAME, for that user or host only, whatever its\n"
	"    validity; with --all, for every one. Nothing is revoked: the old\n"
	"    serial says the same and runs out by itself. Changes of the policy\n"
	"    are not carried out here: 'capctl status' shows them and 'capctl\n"
	"    issue' makes them.\n"
	"\n"
	"    Renewed tokens spread like every signed object: published to one\n"
	"    host's capd (--publish, $CAPTUN_CAPD), they reach every running host\n"
	"    through the shims, and a host that was away gets them from the first\n"
	"    peer it reaches. Run it every day from a timer on the authority's\n"
	"    machine (captun-renew.timer does, with --publish); hosts log and\n"
	"    show in their status a warning days before their token expires.\n"
	"\n"
	"    A host whose token has expired is isolated (it sends and receives\n"
	"    nothing) but keeps running, and lets break-glass logins in; once a\n"
	"    renewed token reaches it - from a peer, a publish, or 'capctl host\n"
	"    join' with a new bundle - it takes its place in the network again.\n"
	"\n"
	"OPTIONS\n"
	"    --within DAYS\n"
	"        Also renew tokens that expire within DAYS days.\n"
	"    --validity DAYS\n"
	"        Validity of the new tokens, 1..3650 days. Default: 30.\n"
	"    --all\n"
	"        Renew every token, due or not.\n"
	PUBLISH_TEXT
	DIR_TEXT
	"\n"
	"FILES\n"
	"    DIR/tokens/host-NAME.token, DIR/tokens/user-NAME.token, DIR/state.json\n"
	"\n"
	EXIT_TEXT
	"\n"
	"EXAMPLE\n"
	"    capctl renew --within 10\n"
	"    capctl renew host:host1 --validity 90\n";

static const char page_metrics[] =
	"NAME\n"
	"    capctl metrics - both daemons' counters for Prometheus\n"
	"\n"
	"SYNOPSIS\n"
	"    capctl metrics [--shim SOCKET] [--capd SOCKET] [--out FILE]\n"
	"\n"
	"DESCRIPTION\n"
	"    Asks this host's capshim and capd for their status and prints their\n"
	"    counters in the Prometheus text format: captun_up per daemon;\n"
	"    capshim's epoch, reach, peers, per-peer sessions, packets, bytes,\n"
	"    refusals and handshakes, and its drops by reason; capd's sessions,\n"
	"    isolation, host token validity and expiry time, break-glass logins\n"
	"    and refused logins. Every series carries host=\"NAME\". A daemon that\n"
	"    does not answer has captun_up 0 and no other series.\n"
	"\n"
	"    For node-exporter's textfile collector, --out writes FILE through a\n"
	"    temporary file renamed over it, so that the collector never reads a\n"
	"    partial file; run it from a timer every minute or so.\n"
	"\n"
	"OPTIONS\n"
	"    --shim SOCKET\n"
	"        capshim's control socket. Default: as 'capctl shim status'.\n"
	"    --capd SOCKET\n"
	"        capd's control socket. Default: [capd] socket of the\n"
	"        configuration file, else " CAPTUN_CAPD_SOCKET ".\n"
	"    --out FILE\n"
	"        Write FILE (atomically) instead of standard output.\n"
	DIR_TEXT
	"\n"
	"EXIT STATUS\n"
	"    0  written (a daemon that did not answer shows as down)\n"
	"    1  neither daemon answered\n"
	"    2  usage error\n"
	"    3  FILE could not be written\n"
	"\n"
	"EXAMPLE\n"
	"    capctl metrics\n"
	"    capctl metrics --out /var/lib/prometheus/node-exporter/captun.prom\n";

static const char page_audit[] =
	"NAME\n"
	"    capctl audit - collect, check and report the denied-flow records\n"
	"\n"
	"SYNOPSIS\n"
	"    capctl audit pull [--capd SOCKET]... [--out DIR] [--since SEQ]\n"
	"    capctl audit verify [--quiet] FILE...\n"
	"    capctl audit report [--since TIME] [--until TIME] [--user U] [--host H]\n"
	"                        [--port P] [--json | --csv] [--html FILE]\n"
	"                        [--flows] [--limit N] FILE...\n"
	"\n"
	"DESCRIPTION\n"
	"    Every host's capshim writes one JSON line per denied flow to\n"
	"    DIR/flows.log (rotated to flows.log.1 ...), at both ends of the flow\n"
	"    and under the same flow id: the sender's line names the users behind\n"
	"    its capability and, when the NFQUEUE reader (capqueue) runs, the\n"
	"    local uid, user, pid, command and executable that opened the flow;\n"
	"    the receiver's line the sender's report of it. Each line carries the\n"
	"    BLAKE2b-256 of the line before, across rotations, so a changed,\n"
	"    removed or inserted line shows. The format: common/flowrec.h.\n"
	"\n"
	"    pull asks each capd (its control socket; root only) for the records\n"
	"    after the last one collected, appends them byte for byte to\n"
	"    DIR/HOST.flows and keeps the cursor in DIR/HOST.cursor, so running it\n"
	"    again fetches only what is new. --out - prints the lines instead (for\n"
	"    'ssh root@host capctl audit pull --out -'). Records a host rotated\n"
	"    away before they were collected are counted and reported.\n"
	"\n"
	"    verify checks the chain of every host in the files given (rotated\n"
	"    files oldest first), and names the first broken line. A chain may\n"
	"    start after seq 1 when older files are gone; the last line is covered\n"
	"    only by the lines after it.\n"
	"\n"
	"    report joins the records of all the files by flow id (a denial counts\n"
	"    once however many ends saw it; a summary line \"and N more like\n"
	"    this\" counts N), filters them, and groups them by user, by host\n"
	"    pair, by port and by hour. It flags flows seen at one end only while\n"
	"    both hosts' records are in the input: a report the receiver never got\n"
	"    (lost), a receiver's record with no sender record (spoofed or lost),\n"
	"    or a refusal only the receiver made (a sender that did not enforce).\n"
	"\n"
	"OPTIONS\n"
	"    --capd SOCKET   a capd control socket (default /run/captun/capd.sock);\n"
	"                    repeat for every host to collect from\n"
	"    --out DIR       where pull keeps HOST.flows and HOST.cursor (default\n"
	"                    ./captun-flows); - for standard output\n"
	"    --since SEQ     (pull) start after this seq instead of the cursor\n"
	"    --since TIME, --until TIME\n"
	"                    (report) UTC, 2025-01-31 or 2025-01-31T14:00:00Z\n"
	"    --user U        records whose capability names U, or whose local user\n"
	"                    is U\n"
	"    --host H        records with H at either end\n"
	"    --port P        records to destination port P\n"
	"    --json, --csv   machine-readable output instead of tables\n"
	"    --html FILE     also write one self-contained page: totals, a host x\n"
	"                    host matrix, a timeline, the groupings\n"
	"    --flows         also list every flow (sender's uid, pid, command)\n"
	"    --limit N       at most N flows listed\n"
	DIR_TEXT
	"\n"
	"SHIPPING TO A LOG SYSTEM\n"
	"    The lines are JSON: to feed journald, syslog or any collector,\n"
	"    follow the file, e.g. a systemd unit running\n"
	"      tail -F -n0 /etc/captun/host/flows.log | systemd-cat -t captun-flows\n"
	"    or rsyslog's imfile module on /etc/captun/host/flows.log. Keep the\n"
	"    files themselves too: only they carry the chain that verify checks.\n"
	"\n"
	EXIT_TEXT
	"\n"
	"EXAMPLE\n"
	"    capctl audit pull --capd /run/captun/capd.sock --out /var/lib/captun-audit\n"
	"    capctl audit verify /var/lib/captun-audit/*.flows\n"
	"    capctl audit report --user alice --since 2025-01-01 /var/lib/captun-audit/*.flows\n"
	"    capctl audit report --html report.html /var/lib/captun-audit/*.flows\n";

static const char page_why[] =
	"NAME\n"
	"    capctl why - explain whether one host may reach another, and the remedy\n"
	"\n"
	"SYNOPSIS\n"
	"    capctl why SRC DST [--user U]... [--port P] [--capd SOCKET] [--json]\n"
	"\n"
	"DESCRIPTION\n"
	"    A packet from SRC reaches DST only if SRC's capability holds DST's\n"
	"    bit: SRC's own grant AND the grant of every user logged in on SRC.\n"
	"    why works this out from the policy and names each grant that lacks\n"
	"    DST, e.g. 'denied: A is logged in on host1 (since 16:02, via sshd\n"
	"    pid 4242) and A's grant lacks host2; host1's own grant allows host2',\n"
	"    then the remedy ('capctl grant A host2', or A logging out).\n"
	"    With --capd, the users are those capd on SRC has sessions for now,\n"
	"    and the capability SRC holds is compared with the policy (tokens not\n"
	"    yet issued or distributed show up there). Ports do not change the\n"
	"    answer: captun decides per pair of hosts.\n"
	"\n"
	"OPTIONS\n"
	"    --user U        a user to assume logged in on SRC (repeatable)\n"
	"    --port P        the destination port (named in the answer)\n"
	"    --capd SOCKET   SRC's capd control socket: its live sessions\n"
	"    --json          one JSON object\n"
	DIR_TEXT
	"\n"
	EXIT_TEXT
	"\n"
	"EXAMPLE\n"
	"    capctl why host1 host2 --user A --port 80\n"
	"    capctl why host1 host2 --capd /run/captun/capd.sock --json\n";

static const char page_help[] =
	"NAME\n"
	"    capctl help - show the manual of a verb\n"
	"\n"
	"SYNOPSIS\n"
	"    capctl help [VERB]\n"
	"    capctl VERB --help\n"
	"\n"
	"DESCRIPTION\n"
	"    Without VERB, shows the overview of every verb.\n"
	"\n"
	EXIT_TEXT
	"\n"
	"EXAMPLE\n"
	"    capctl help revoke\n";

static const struct page {
	const char *verb;
	const char *text;
} pages[] = {
	{ "init", page_init },
	{ "keygen", page_keygen },
	{ "host", page_host },
	{ "user", page_user },
	{ "policy", page_policy },
	{ "issue", page_issue },
	{ "grant", page_grant },
	{ "revoke", page_revoke },
	{ "token", page_token },
	{ "status", page_status },
	{ "shim", page_shim },
	{ "publish", page_publish },
	{ "renew", page_renew },
	{ "metrics", page_metrics },
	{ "audit", page_audit },
	{ "why", page_why },
	{ "help", page_help },
};

/* The page of verb (NULL: the overview); "host add" shows "host". */
int help_show(const char *verb)
{
	if (!verb) {
		if (out_json())
			out_set("manual", json_string(page_main));
		else
			fputs(page_main, stdout);
		return CAPCTL_OK;
	}
	for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++)
		if (strncmp(verb, pages[i].verb, strlen(pages[i].verb)) == 0 &&
		    (verb[strlen(pages[i].verb)] == '\0' ||
		     verb[strlen(pages[i].verb)] == ' ')) {
			if (out_json())
				out_set("manual", json_string(pages[i].text));
			else
				fputs(pages[i].text, stdout);
			return CAPCTL_OK;
		}
	return help_usage(NULL, "no manual for '%s'", verb);
}

/* A usage error: one line naming the problem and the page to read; exit 2. */
int help_usage(const char *verb, const char *fmt, ...)
{
	char what[256];
	char fix[96];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (verb)
		snprintf(fix, sizeof(fix), "see 'capctl help %s'", verb);
	else
		snprintf(fix, sizeof(fix), "see 'capctl --help'");
	return util_fail(CAPCTL_USAGE, fix, "%s", what);
}

#!/usr/bin/env bash
# Read-only probe of a Linux host for the asr_mobility_service role, in one round trip (run by ansible.builtin.script,
# so no Python module starts on the host): OS, rights, free space, the registration endpoint's ports, the installed
# agent and where it is registered, and whether its services run. Prints one JSON object; exits 0 unless misused.
#
# Usage: probe_linux.sh OS_RELEASE INSTALL_DIR VX_VERSION_FILE DRSCOUT_CONF SOURCE_CONFIG CS_HOST CS_PORT PS_HOST PS_PORT
#                       TIMEOUT_S -- SERVICE_CHECK_ARGV...
set -u
[ $# -ge 11 ] && [ "${11}" = -- ] || { echo "usage: $0 OS_RELEASE INSTALL_DIR VX DRSCOUT SOURCE_CONFIG CS_HOST CS_PORT PS_HOST PS_PORT TIMEOUT -- CHECK..." >&2; exit 2; }
os_release=$1 install_dir=$2 vx=$3 drscout=$4 source_config=$5 cs_host=$6 cs_port=$7 ps_host=$8 ps_port=$9 timeout_s=${10}
shift 11

json() {  # a JSON string literal
  local s=${1//\\/\\\\}
  s=${s//\"/\\\"}; s=${s//$'\n'/\\n}; s=${s//$'\r'/\\r}; s=${s//$'\t'/\\t}
  printf '"%s"' "$s"
}
key() {  # KEY=value from a file (first match, spaces around '=' and quotes trimmed)
  [ -r "$2" ] || return 0
  sed -n "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*//p" "$2" | head -n 1 | tr -d '\r' | sed 's/^"\(.*\)"$/\1/; s/[[:space:]]*$//'
}
reachable() {  # TCP connect within the timeout (bash's /dev/tcp: nothing to install on the host)
  timeout "$timeout_s" bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null && echo true || echo false
}

# Free MiB on the file system that will hold the install dir (its nearest existing ancestor).
dir=$install_dir
while [ ! -d "$dir" ] && [ "$dir" != / ]; do dir=$(dirname "$dir"); done
free_kb=$(df -Pk "$dir" 2>/dev/null | awk 'NR == 2 { print $4 }')

# Appliance addresses the agent was configured with (modernized): RcmProxyTransportSettings.IpAddresses of the
# agent's source configuration, read without jq (not installed everywhere).
appliance_ips=""
if [ -r "$source_config" ]; then
  appliance_ips=$(tr -d '\r\n' < "$source_config" | sed -n 's/.*"IpAddresses"[[:space:]]*:[[:space:]]*\[\([^]]*\)\].*/\1/p' \
                  | tr ',' '\n' | sed 's/[[:space:]"]//g' | grep -v '^$' | paste -sd, -)
fi

if [ $# -gt 0 ] && "$@" >/dev/null 2>&1; then services=true; else services=false; fi

printf '{"uid": %s, ' "$(id -u)"
printf '"os_id": %s, "os_version": %s, ' "$(json "$(key ID "$os_release")")" "$(json "$(key VERSION_ID "$os_release")")"
printf '"free_mb": %s, ' "$(( ${free_kb:-0} / 1024 ))"
printf '"cs_reachable": %s, "ps_reachable": %s, ' "$(reachable "$cs_host" "$cs_port")" "$(reachable "$ps_host" "$ps_port")"
printf '"installed_version": %s, ' "$(json "$(key VERSION "$vx")")"
printf '"configuration_status": %s, ' "$(json "$(key AGENT_CONFIGURATION_STATUS "$vx")")"
printf '"cs_type": %s, ' "$(json "$(key CSType "$drscout")")"
printf '"registered_cs": %s, ' "$(json "$(key Hostname "$drscout")")"
printf '"appliance_ips": %s, ' "$(json "$appliance_ips")"
printf '"services_running": %s}\n' "$services"

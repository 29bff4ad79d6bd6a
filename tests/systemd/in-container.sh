#!/bin/sh
# in-container.sh — the systemd e2e, run inside a booted Debian 12
# container (systemd 252) as the oneshot unit tickd-e2e.service; see
# tools/check-systemd.sh, which installs tickd into the container and
# boots it. Writes one "PASS name" / "FAIL name: why" / "SKIP name: why"
# line per check to /results/results, the journal of tickd.service to
# /results/journal.txt, then "DONE" and powers the container off.
# Every wait is bounded.
set -u
R=/results/results
CONF=/etc/tickd/tickd.ini
PLUGINS=/usr/local/lib/tickd/plugins
TICKD=/usr/local/bin/tickd

pass() { echo "PASS $1" >> "$R"; }
fail() { echo "FAIL $1: $2" >> "$R"; }
skip() { echo "SKIP $1: $2" >> "$R"; }
prop() { systemctl show -P "$1" tickd.service 2>/dev/null; }
# wait_for SECONDS COMMAND...: true once COMMAND succeeds
wait_for() {
    n=$(($1 * 10)); shift
    while [ "$n" -gt 0 ]; do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1; n=$((n - 1))
    done
    return 1
}
good_config() {
    cat > "$CONF" <<EOF
[daemon]
plugin_dir = $PLUGINS
stop_timeout = 2s
[plugin:beat]
module = heartbeat
interval = ${1:-1s}
[plugin:echo]
listen = 127.0.0.1:7000
EOF
}
journal_has() {   # PRIORITY-RANGE TEXT
    journalctl -q -u tickd.service -p "$1" -o cat --no-pager 2>/dev/null | grep -qF -- "$2"
}

echo "STARTED $(systemctl --version | head -n 1)" > "$R"
mkdir -p /etc/tickd /etc/systemd/system/tickd.service.d
# the watchdog check wants a short period; everything else is the unit
# as installed
# (and a frozen process is killed soon after the watchdog's SIGABRT)
printf '[Service]\nWatchdogSec=2s\nTimeoutAbortSec=2s\n' > /etc/systemd/system/tickd.service.d/e2e.conf
systemctl daemon-reload

# ---- 1. start to READY ------------------------------------------------------
good_config
if timeout 30 systemctl start tickd.service; then
    if [ "$(prop ActiveState)" = active ] && prop StatusText | grep -q '^running 2 instances'; then
        pass start_ready
    else
        fail start_ready "state $(prop ActiveState)/$(prop SubState), status '$(prop StatusText)'"
    fi
else
    fail start_ready "systemctl start failed: $(systemctl status tickd.service --no-pager 2>&1 | tail -n 15 | tr '\n' '|')"
fi
pid=$(prop MainPID)

# ---- 2. reload through the control socket --------------------------------------
sock=/run/tickd/control
mode=$(stat -c '%a %F' "$sock" 2>/dev/null)
if [ "$mode" = "600 socket" ] && [ "$(stat -c %a /run/tickd)" = 700 ]; then
    pass control_socket_mode
else
    fail control_socket_mode "socket: '$mode', directory: $(stat -c %a /run/tickd 2>&1)"
fi
good_config 2s
if timeout 60 systemctl reload tickd.service && wait_for 5 journal_has 6 "reloaded: 1 started, 1 stopped, 1 unchanged"; then
    pass reload
else
    fail reload "$(journalctl -q -u tickd.service -n 10 -o cat --no-pager | tr '\n' '|')"
fi
# `tickd status` as root from outside the sandbox
out=$(timeout 20 "$TICKD" status --socket "$sock" 2>&1)
if echo "$out" | grep -q '^plugin:beat: module=heartbeat state=running' &&
   echo "$out" | grep -q '^plugin:echo: module=echo state=running'; then
    pass status
else
    fail status "$out"
fi

# ---- 3. a rejected reload is reported as failed -----------------------------------
printf '[daemon]\nplugin_dir = %s\nbogus = 1\n' "$PLUGINS" > "$CONF"
if timeout 60 systemctl reload tickd.service 2>/dev/null; then
    fail rejected_reload "systemctl reload succeeded"
elif [ "$(prop MainPID)" != "$pid" ] || [ "$(prop ActiveState)" != active ]; then
    fail rejected_reload "the daemon did not keep running: $(prop ActiveState) pid $(prop MainPID)"
elif ! wait_for 5 journal_has err "$CONF:3: unknown key 'bogus' in [daemon]"; then
    fail rejected_reload "no FILE:LINE error at priority err in the journal"
else
    pass rejected_reload
fi

# ---- 4. journal priorities --------------------------------------------------------
if journal_has 6..6 "tickd 0.1.0 ready: 2 instances from $CONF" &&
   journal_has 3..3 "reload failed, keeping the running configuration: $CONF:3:" &&
   ! journal_has 0..5 "ready: 2 instances"; then
    pass journal_priorities
else
    fail journal_priorities "$(journalctl -q -u tickd.service -o short-monotonic --output-fields=PRIORITY -n 20 --no-pager 2>&1 | tr '\n' '|')"
fi

# ---- 5. the watchdog ----------------------------------------------------------------
good_config
t1=$(prop WatchdogTimestampMonotonic)
sleep 2.5
t2=$(prop WatchdogTimestampMonotonic)
if [ -n "$t1" ] && [ "$t1" != 0 ] && [ "$t2" != "$t1" ]; then
    pass watchdog_pings
else
    fail watchdog_pings "WatchdogTimestampMonotonic $t1 -> $t2"
fi
# a frozen loop stops pinging: systemd kills it and Restart= restarts it
restarts=$(prop NRestarts)
kill -STOP "$pid"
if wait_for 20 sh -c "[ \"\$(systemctl show -P NRestarts tickd.service)\" -gt $restarts ] && [ \"\$(systemctl show -P ActiveState tickd.service)\" = active ]"; then
    pass watchdog_restarts
else
    fail watchdog_restarts "NRestarts $(prop NRestarts), Result $(prop Result), state $(prop ActiveState)"
    kill -CONT "$pid" 2>/dev/null
fi

# ---- 6. an exec plugin job under the unit's sandbox ---------------------------------------
# A job runs as the unit's dynamic user, and inherits ProcSubset=pid
# (/proc/loadavg hidden); the shipped drop-in tickd-exec.conf gives it
# back.
exec_config() {
    cat > "$CONF" <<EOF
[daemon]
plugin_dir = $PLUGINS
stop_timeout = 2s
[plugin:job]
module = exec
every = 1s
timeout = 5s
command = sh -c "echo exec-ok; if cat /proc/loadavg >/dev/null 2>&1; then echo loadavg-readable; else echo loadavg-hidden; fi"
EOF
}
DROPIN=/usr/local/share/doc/tickd/systemd/tickd-exec.conf
if [ -e "$PLUGINS/exec.so" ]; then
    timeout 30 systemctl stop tickd.service
    systemctl reset-failed tickd.service 2>/dev/null
    exec_config
    if timeout 30 systemctl start tickd.service &&
       wait_for 10 journal_has 6 "plugin:job: exec-ok" &&
       wait_for 5 journal_has 6 "plugin:job: loadavg-hidden"; then
        pass exec_sandbox
    else
        fail exec_sandbox "$(journalctl -q -u tickd.service -n 15 -o cat --no-pager | tr '\n' '|')"
    fi
    if [ -e "$DROPIN" ] && cp "$DROPIN" /etc/systemd/system/tickd.service.d/exec.conf &&
       systemctl daemon-reload && timeout 30 systemctl restart tickd.service &&
       wait_for 10 journal_has 6 "plugin:job: loadavg-readable"; then
        pass exec_dropin
    else
        fail exec_dropin "drop-in $(ls -l "$DROPIN" 2>&1); $(journalctl -q -u tickd.service -n 15 -o cat --no-pager | tr '\n' '|')"
    fi
    rm -f /etc/systemd/system/tickd.service.d/exec.conf
    systemctl daemon-reload
else
    fail exec_sandbox "no $PLUGINS/exec.so"
fi

# ---- 7. a config error at start ends failed, no restart -----------------------------------
timeout 30 systemctl stop tickd.service
systemctl reset-failed tickd.service 2>/dev/null
printf '[daemon]\nplugin_dir = %s\n[plugin:beat]\nmodule = heartbeat\ninterval = soon\n' "$PLUGINS" > "$CONF"
timeout 30 systemctl start tickd.service 2>/dev/null
rc=$?
sleep 6    # three RestartSec=2s: a restart loop would show by now
st="rc=$rc $(prop ActiveState) result=$(prop Result) status=$(prop ExecMainStatus) restarts=$(prop NRestarts)"
if [ "$rc" -ne 0 ] && [ "$(prop ActiveState)" = failed ] && [ "$(prop ExecMainStatus)" = 78 ] &&
   [ "$(prop NRestarts)" = 0 ] && [ "$(prop Result)" = exit-code ]; then
    pass config_error_no_restart
else
    fail config_error_no_restart "$st"
fi
if journal_has err "$CONF:5: plugin:beat: bad duration 'soon'"; then
    pass config_error_logged
else
    fail config_error_logged "no FILE:LINE at priority err"
fi

# ---- 8. stop ------------------------------------------------------------------------------
systemctl reset-failed tickd.service 2>/dev/null
good_config
if timeout 30 systemctl start tickd.service && timeout 40 systemctl stop tickd.service &&
   [ "$(prop ActiveState)" = inactive ] && [ "$(prop ExecMainStatus)" = 0 ] &&
   [ "$(prop Result)" = success ] && [ ! -e /run/tickd ]; then
    pass stop
else
    fail stop "$(prop ActiveState) result=$(prop Result) status=$(prop ExecMainStatus); /run/tickd: $(ls -la /run/tickd 2>&1 | tr '\n' ' ')"
fi

journalctl -q -u tickd.service -o short-monotonic --no-pager > /results/journal.txt 2>&1
systemd-analyze security tickd.service --no-pager > /results/security.txt 2>&1
echo DONE >> "$R"
sync
systemctl --no-block poweroff

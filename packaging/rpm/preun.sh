# weir %preun: on erase (not upgrade), disable and stop (a soft stop).
if [ "$1" -eq 0 ] && [ -d /run/systemd/system ]; then
    systemctl --no-reload disable --now weir.service >/dev/null 2>&1 || :
fi
exit 0

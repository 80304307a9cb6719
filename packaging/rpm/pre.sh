# weir %pre: the `weir` system user and group (workers run as them).
getent group weir >/dev/null || groupadd -r weir
getent passwd weir >/dev/null || \
    useradd -r -g weir -d /var/lib/weir -M -s /sbin/nologin -c "weir load balancer" weir
exit 0

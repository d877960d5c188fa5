# nginx-setup.sh - sourced after sithsd-setup.sh: a real nginx in the
# environment's namespace terminating TLS on 127.0.0.1:$WEB_PORT
# (ssl_verify_client optional_no_ca) with the drop-in configuration of
# examples/nginx pointed at sithsd's front on 127.0.0.1:$AUTHD_PORT.
#
#   nginx_conf LOCATION-BODY   write nginx.conf; LOCATION-BODY goes into
#                              "location / { auth_request ...; ... }"
#   start_nginx                start it, wait until it listens
#   web PERSON [PATH [CURL-ARGS...]]
#                              a request with PERSON's certificate and key
#                              ("-": none); sets code and hdrs, body in $ng/body

AUTHD_PORT=8490 WEB_PORT=8443
ng=$STATE/nginx
mkdir -p "$ng/www" "$ng/tmp" "$ng/errors"
cp "$SITHS_SRCDIR"/examples/nginx/errors/*.html "$ng/errors/"
sed -e "s|127.0.0.1:8490|127.0.0.1:$AUTHD_PORT|" -e "s|alias .*;|alias $ng/errors/;|" \
  "$SITHS_SRCDIR/examples/nginx/siths-auth.conf" >"$ng/siths-auth.conf"
cp "$SITHS_SRCDIR/examples/nginx/siths-identity.conf" "$ng/siths-identity.conf"
cat "$STATE/pki/root.pem" "$STATE/pki/other-root.pem" >"$ng/client-cas.pem"

nginx_conf() {
  cat >"$ng/nginx.conf" <<EOT
worker_processes 2;
pid $ng/nginx.pid;
error_log $ng/error.log info;
events { worker_connections 1024; }
http {
  access_log $ng/access.log;
  client_body_temp_path $ng/tmp/body;
  proxy_temp_path $ng/tmp/proxy;
  fastcgi_temp_path $ng/tmp/fastcgi;
  uwsgi_temp_path $ng/tmp/uwsgi;
  scgi_temp_path $ng/tmp/scgi;
  server {
    listen 127.0.0.1:$WEB_PORT ssl;
    ssl_certificate $STATE/pki/ldap-server.pem;
    ssl_certificate_key $STATE/pki/ldap-server.key;
    ssl_client_certificate $ng/client-cas.pem;
    ssl_verify_client optional_no_ca;
    include $ng/siths-auth.conf;
    location / {
      auth_request /_siths_auth;
      include $ng/siths-identity.conf;
$1
    }
  }
}
EOT
}

start_nginx() {
  local i
  in_env nginx -p "$ng" -c "$ng/nginx.conf" -e "$ng/error.log" -g 'daemon off;' \
    >>"$ng/stderr.log" 2>&1 &
  for i in $(seq 100); do
    in_env bash -c "exec 3<>/dev/tcp/127.0.0.1/$WEB_PORT" 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}
stop_nginx() { [ -f "$ng/nginx.pid" ] && kill "$(cat "$ng/nginx.pid")" 2>/dev/null || true; }
trap 'stop_nginx; stop_sithsd; rm -rf "$SITHSD_RUN"; env_down' EXIT

web() {
  local who=(--cert "$STATE/pki/$1.pem" --key "$STATE/pki/$1.key") path=${2:-/}
  [ "$1" != - ] || who=()
  shift $(($# < 2 ? $# : 2))
  code=$(in_env curl -s -o "$ng/body" -D "$ng/headers" -w '%{http_code}' --max-time 20 \
    --cacert "$STATE/pki/ldap-ca.pem" "${who[@]}" "$@" "https://127.0.0.1:$WEB_PORT$path") ||
    code=000
  hdrs=$(tr -d '\r' <"$ng/headers" 2>/dev/null)
}

// weft_original_dst: getsockopt(SO_ORIGINAL_DST) for Node, which has no getsockopt. A connection that iptables
// REDIRECTed (weft init) to the proxy's 15001/15006 carries its original destination in conntrack; this reads it.
//   originalDst(fd) -> { address, port, family } | null (not redirected) ; throws on a bad fd.
// IPv4 (SOL_IP, SO_ORIGINAL_DST) and IPv6 (SOL_IPV6, IP6T_SO_ORIGINAL_DST), chosen by the socket's family.
#include <node_api.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#ifndef SO_ORIGINAL_DST
#define SO_ORIGINAL_DST 80 /* linux/netfilter_ipv4.h */
#endif
#ifndef IP6T_SO_ORIGINAL_DST
#define IP6T_SO_ORIGINAL_DST 80 /* linux/netfilter_ipv6/ip6_tables.h */
#endif

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char msg[160];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_throw_error(env, NULL, msg);
  return NULL;
}

static napi_value original_dst(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd = -1;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, NULL, "originalDst(fd): fd must be a non-negative integer");
    return NULL;
  }
  struct sockaddr_storage local;
  socklen_t len = sizeof local;
  if (getsockname(fd, (struct sockaddr *)&local, &len) != 0) return throw_errno(env, "getsockname", errno);
  struct sockaddr_storage dst;
  memset(&dst, 0, sizeof dst);
  len = sizeof dst;
  int rc = local.ss_family == AF_INET6 ? getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, &dst, &len)
                                       : getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &dst, &len);
  napi_value result;
  if (rc != 0) {
    // ENOENT: no conntrack entry (not NATed, or conntrack not loaded); ENOPROTOOPT: no netfilter. Not redirected.
    if (errno == ENOENT || errno == ENOPROTOOPT || errno == ENOTCONN) {
      napi_get_null(env, &result);
      return result;
    }
    return throw_errno(env, "getsockopt(SO_ORIGINAL_DST)", errno);
  }
  char host[INET6_ADDRSTRLEN];
  int port;
  const char *family;
  if (dst.ss_family == AF_INET6) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&dst;
    inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
    port = ntohs(a->sin6_port);
    family = "IPv6";
  } else {
    struct sockaddr_in *a = (struct sockaddr_in *)&dst;
    inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
    port = ntohs(a->sin_port);
    family = "IPv4";
  }
  napi_value address, port_value, family_value;
  napi_create_object(env, &result);
  napi_create_string_utf8(env, host, NAPI_AUTO_LENGTH, &address);
  napi_create_int32(env, port, &port_value);
  napi_create_string_utf8(env, family, NAPI_AUTO_LENGTH, &family_value);
  napi_set_named_property(env, result, "address", address);
  napi_set_named_property(env, result, "port", port_value);
  napi_set_named_property(env, result, "family", family_value);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "originalDst", NAPI_AUTO_LENGTH, original_dst, NULL, &fn);
  napi_set_named_property(env, exports, "originalDst", fn);
  return exports;
}

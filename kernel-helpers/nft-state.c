// SPDX-License-Identifier: GPL-2.0-or-later
/* Reading confine's installed nf_tables state back from the kernel. */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <inttypes.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/object.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#include "common/cleanup.h"
#include "kernel-helpers/netlink.h"
#include "kernel-helpers/nft-internal.h"

/* ---- reading the installed state ------------------------------------- */

/*
 * One dump request; build() fills the message. -ENOENT from the kernel
 * (no table) is returned as is for the caller to interpret.
 */
int nft_dump(struct nft *n, uint16_t type,
	     void (*build)(struct nlmsghdr *, const void *), const void *arg,
	     mnl_cb_t cb, void *data, struct failure *fail, const char *what)
{
	_cleanup_free_ char *buf = malloc(NL_DUMP_BUFFER_SIZE);
	struct nlmsghdr *nlh;
	uint32_t seq;
	int r;

	if (!buf)
		return -ENOMEM;
	seq = n->seq++;
	nlh = nftnl_nlmsg_build_hdr(buf, type, NFPROTO_INET,
				    NLM_F_DUMP | NLM_F_ACK, seq);
	if (build)
		build(nlh, arg);
	r = nl_talk(n->nl, n->portid, nlh, seq, buf, NL_DUMP_BUFFER_SIZE, cb,
		    data, fail ? fail->kernel_msg : NULL,
		    fail ? sizeof(fail->kernel_msg) : 0);
	if (r < 0 && r != -ENOENT)
		failure_set(fail, "%s", what);
	return r;
}

static void build_table_filter(struct nlmsghdr *nlh, const void *arg)
{
	mnl_attr_put_strz(nlh, NFTA_TABLE_NAME, NFT_TABLE_NAME);
}

static void build_chain_filter(struct nlmsghdr *nlh, const void *arg)
{
	mnl_attr_put_strz(nlh, NFTA_CHAIN_TABLE, NFT_TABLE_NAME);
}

static void build_set_filter(struct nlmsghdr *nlh, const void *arg)
{
	mnl_attr_put_strz(nlh, NFTA_SET_TABLE, NFT_TABLE_NAME);
}

static void build_obj_filter(struct nlmsghdr *nlh, const void *arg)
{
	mnl_attr_put_strz(nlh, NFTA_OBJ_TABLE, NFT_TABLE_NAME);
	mnl_attr_put_u32(nlh, NFTA_OBJ_TYPE, htonl(NFT_OBJECT_COUNTER));
}

static void build_elem_filter(struct nlmsghdr *nlh, const void *arg)
{
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, NFT_TABLE_NAME);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, arg);
}

static int table_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nftnl_table *t = nftnl_table_alloc();
	bool *present = data;

	if (!t)
		return MNL_CB_ERROR;
	if (nftnl_table_nlmsg_parse(nlh, t) == 0 &&
	    nftnl_table_get_u32(t, NFTNL_TABLE_FAMILY) == NFPROTO_INET &&
	    strcmp(nftnl_table_get_str(t, NFTNL_TABLE_NAME), NFT_TABLE_NAME) ==
		    0)
		*present = true;
	nftnl_table_free(t);
	return MNL_CB_OK;
}

static int comment_cb(const struct nftnl_udata *attr, void *data)
{
	const char **comment = data;

	if (nftnl_udata_type(attr) == NFTNL_UDATA_CHAIN_COMMENT)
		*comment = nftnl_udata_get(attr);
	return 0;
}

static int chain_cb(const struct nlmsghdr *nlh, void *data)
{
	_cleanup_(nftnl_chain_freep) struct nftnl_chain *c =
		nftnl_chain_alloc();
	struct nft_state *s = data;
	struct nft_chain_comment cc;
	struct nft_service *grown;
	const char *comment = NULL, *name;
	const void *ud;
	uint32_t ud_len;

	if (!c)
		return MNL_CB_ERROR;
	if (nftnl_chain_nlmsg_parse(nlh, c) < 0)
		return MNL_CB_OK;
	name = nftnl_chain_get_str(c, NFTNL_CHAIN_NAME);
	if (!name ||
	    strncmp(name, SERVICE_CHAIN_PREFIX, strlen(SERVICE_CHAIN_PREFIX)) !=
		    0 ||
	    !nftnl_chain_is_set(c, NFTNL_CHAIN_USERDATA))
		return MNL_CB_OK;
	ud = nftnl_chain_get_data(c, NFTNL_CHAIN_USERDATA, &ud_len);
	if (nftnl_udata_parse(ud, ud_len, comment_cb, &comment) < 0 || !comment)
		return MNL_CB_OK;
	/* A chain of this prefix whose comment is not ours is not a service. */
	if (!nft_comment_parse(comment, &cc))
		return MNL_CB_OK;
	grown = realloc(s->services, (s->n_services + 1) * sizeof(*grown));
	if (!grown)
		return MNL_CB_ERROR;
	s->services = grown;
	s->services[s->n_services++] = (struct nft_service){
		.mark_value = cc.mark_value,
		.table = cc.table,
		.exclusive = cc.exclusive,
		.digest = cc.digest,
		.log = cc.log,
	};
	memcpy(s->services[s->n_services - 1].name, cc.name, sizeof(cc.name));
	s->mark_mask = cc.mask;
	return MNL_CB_OK;
}

static int set_cb(const struct nlmsghdr *nlh, void *data)
{
	_cleanup_(nftnl_set_freep) struct nftnl_set *set = nftnl_set_alloc();
	struct nft_state *s = data;
	const char *name;
	uint32_t level, *grown;
	char extra;

	if (!set)
		return MNL_CB_ERROR;
	if (nftnl_set_nlmsg_parse(nlh, set) < 0)
		return MNL_CB_OK;
	name = nftnl_set_get_str(set, NFTNL_SET_NAME);
	if (!name || sscanf(name, CGROUP_MAP_PREFIX "%" SCNu32 "%c", &level,
			    &extra) != 1)
		return MNL_CB_OK;
	grown = realloc(s->levels, (s->n_levels + 1) * sizeof(*grown));
	if (!grown)
		return MNL_CB_ERROR;
	s->levels = grown;
	s->levels[s->n_levels++] = level;
	return MNL_CB_OK;
}

struct elem_ctx {
	struct nft_state *state;
	uint32_t level; /* for cgroup maps */
	int family; /* for exclusive sets, else 0 */
};

static int add_cgroup_to_service(struct nft_state *s, const char *chain,
				 uint64_t id, uint32_t level)
{
	const char *name = chain + strlen(SERVICE_CHAIN_PREFIX);
	struct nft_service *svc;
	struct nft_cgroup *grown;

	if (strncmp(chain, SERVICE_CHAIN_PREFIX, strlen(SERVICE_CHAIN_PREFIX)))
		return 0;
	svc = (struct nft_service *)nft_state_find(s, name);
	if (!svc)
		return 0;
	grown = realloc(svc->cgroups, (svc->n_cgroups + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	svc->cgroups = grown;
	svc->cgroups[svc->n_cgroups++] = (struct nft_cgroup){ id, level };
	return 0;
}

static int add_exclusive(struct nft_state *s, int family,
			 struct nftnl_set_elem *e)
{
	size_t alen = inet_addr_len(family);
	struct nft_exclusive *x, *grown;
	const void *key, *end, *owner;
	uint32_t klen = 0, elen = 0, olen = 0;

	key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &klen);
	end = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY_END, &elen);
	owner = nftnl_set_elem_get(e, NFTNL_SET_ELEM_USERDATA, &olen);
	if (!key || !end || klen < alen || elen < alen)
		return 0;
	grown = realloc(s->exclusive, (s->n_exclusive + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	s->exclusive = grown;
	x = &s->exclusive[s->n_exclusive++];
	*x = (struct nft_exclusive){ .range.family = family };
	memcpy(x->range.start.bytes, key, alen);
	memcpy(x->range.end.bytes, end, alen);
	if (owner && olen < sizeof(x->owner))
		memcpy(x->owner, owner, olen);
	return 0;
}

static int elem_cb(const struct nlmsghdr *nlh, void *data)
{
	_cleanup_(nftnl_set_freep) struct nftnl_set *set = nftnl_set_alloc();
	struct elem_ctx *ec = data;
	struct nftnl_set_elems_iter *it;
	struct nftnl_set_elem *e;
	int r = 0;

	if (!set)
		return MNL_CB_ERROR;
	if (nftnl_set_elems_nlmsg_parse(nlh, set) < 0)
		return MNL_CB_OK;
	it = nftnl_set_elems_iter_create(set);
	if (!it)
		return MNL_CB_ERROR;
	for (e = nftnl_set_elems_iter_next(it); e && r == 0;
	     e = nftnl_set_elems_iter_next(it)) {
		if (ec->family) {
			r = add_exclusive(ec->state, ec->family, e);
		} else {
			uint32_t len = 0;
			const void *key =
				nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len);
			const char *chain =
				nftnl_set_elem_get_str(e, NFTNL_SET_ELEM_CHAIN);
			uint64_t id;

			if (!key || len != sizeof(id) || !chain)
				continue;
			memcpy(&id, key, sizeof(id));
			r = add_cgroup_to_service(ec->state, chain, id,
						  ec->level);
		}
	}
	nftnl_set_elems_iter_destroy(it);
	return r < 0 ? MNL_CB_ERROR : MNL_CB_OK;
}

static int obj_cb(const struct nlmsghdr *nlh, void *data)
{
	_cleanup_(nftnl_obj_freep) struct nftnl_obj *o = nftnl_obj_alloc();
	static const char *const kinds[] = { "_allowed", "_refused", "_logged",
					     "_probed" };
	struct nft_state *s = data;
	char svc_name[NFT_SERVICE_NAME_MAX + 1];
	struct nft_service *svc;
	const char *name;
	uint64_t pkts;
	size_t len;

	if (!o)
		return MNL_CB_ERROR;
	if (nftnl_obj_nlmsg_parse(nlh, o) < 0)
		return MNL_CB_OK;
	name = nftnl_obj_get_str(o, NFTNL_OBJ_NAME);
	pkts = nftnl_obj_get_u64(o, NFTNL_OBJ_CTR_PKTS);
	if (!name)
		return MNL_CB_OK;
	if (strcmp(name, COUNTER_OTHERS) == 0) {
		s->others_refused = pkts;
		return MNL_CB_OK;
	}
	if (strcmp(name, COUNTER_OTHERS_LOGGED) == 0) {
		s->has_others_logged = true;
		s->others_logged = pkts;
		return MNL_CB_OK;
	}
	/* svc_NAME_allowed, svc_NAME_refused: NAME may hold '_' itself. */
	len = strlen(name);
	if (strncmp(name, SERVICE_CHAIN_PREFIX, strlen(SERVICE_CHAIN_PREFIX)))
		return MNL_CB_OK;
	for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
		size_t klen = strlen(kinds[k]);
		size_t nlen;

		if (len <= strlen(SERVICE_CHAIN_PREFIX) + klen ||
		    strcmp(name + len - klen, kinds[k]) != 0)
			continue;
		nlen = len - strlen(SERVICE_CHAIN_PREFIX) - klen;
		if (nlen > NFT_SERVICE_NAME_MAX)
			continue;
		memcpy(svc_name, name + strlen(SERVICE_CHAIN_PREFIX), nlen);
		svc_name[nlen] = '\0';
		svc = (struct nft_service *)nft_state_find(s, svc_name);
		if (!svc)
			continue;
		switch (k) {
		case 0:
			svc->allowed_packets = pkts;
			break;
		case 1:
			svc->refused_packets = pkts;
			break;
		case 2:
			svc->has_logged_counter = true;
			svc->logged_packets = pkts;
			break;
		default:
			svc->probe_packets = pkts;
		}
	}
	return MNL_CB_OK;
}

static int service_name_cmp(const void *a, const void *b)
{
	const struct nft_service *x = a, *y = b;

	return strcmp(x->name, y->name);
}

int nft_read_state(struct nft *n, struct nft_state *out, struct failure *fail)
{
	struct nft_state s = { 0 };
	struct elem_ctx ec = { &s, 0, 0 };
	char map[64];
	int r;

	r = nft_dump(n, NFT_MSG_GETTABLE, build_table_filter, NULL, table_cb,
		     &s.table_present, fail, "list nf_tables tables");
	if (r < 0 && r != -ENOENT)
		goto fail;
	if (!s.table_present) {
		*out = s;
		return 0;
	}
	r = nft_dump(n, NFT_MSG_GETCHAIN, build_chain_filter, NULL, chain_cb,
		     &s, fail, "list chains of table inet " NFT_TABLE_NAME);
	if (r < 0)
		goto fail;
	/* Sorted by name, so that nft_state_find() is a binary search. */
	if (s.n_services)
		qsort(s.services, s.n_services, sizeof(*s.services),
		      service_name_cmp);
	r = nft_dump(n, NFT_MSG_GETSET, build_set_filter, NULL, set_cb, &s,
		     fail, "list sets of table inet " NFT_TABLE_NAME);
	if (r < 0)
		goto fail;
	for (size_t i = 0; i < s.n_levels; i++) {
		ec.level = s.levels[i];
		cgroup_map_name(s.levels[i], map, sizeof(map));
		r = nft_dump(n, NFT_MSG_GETSETELEM, build_elem_filter, map,
			     elem_cb, &ec, fail, "list cgroup map elements");
		if (r < 0)
			goto fail;
	}
	ec.family = AF_INET;
	r = nft_dump(n, NFT_MSG_GETSETELEM, build_elem_filter, SET_EXCLUSIVE4,
		     elem_cb, &ec, fail, "list set " SET_EXCLUSIVE4);
	if (r < 0 && r != -ENOENT)
		goto fail;
	ec.family = AF_INET6;
	r = nft_dump(n, NFT_MSG_GETSETELEM, build_elem_filter, SET_EXCLUSIVE6,
		     elem_cb, &ec, fail, "list set " SET_EXCLUSIVE6);
	if (r < 0 && r != -ENOENT)
		goto fail;
	r = nft_dump(n, NFT_MSG_GETOBJ, build_obj_filter, NULL, obj_cb, &s,
		     fail, "list counters of table inet " NFT_TABLE_NAME);
	if (r < 0 && r != -ENOENT)
		goto fail;
	*out = s;
	return 0;
fail:
	nft_state_free(&s);
	return r;
}

int nft_read_counters(struct nft *n, struct nft_state *st, struct failure *fail)
{
	int r = nft_dump(n, NFT_MSG_GETOBJ, build_obj_filter, NULL, obj_cb, st,
			 fail, "list counters of table inet " NFT_TABLE_NAME);

	return r == -ENOENT ? 0 : r;
}

static int counter_cb(const struct nlmsghdr *nlh, void *data)
{
	_cleanup_(nftnl_obj_freep) struct nftnl_obj *o = nftnl_obj_alloc();
	uint64_t *pkts = data;

	if (!o)
		return MNL_CB_ERROR;
	if (nftnl_obj_nlmsg_parse(nlh, o) == 0)
		*pkts += nftnl_obj_get_u64(o, NFTNL_OBJ_CTR_PKTS);
	return MNL_CB_OK;
}

int nft_service_packets(struct nft *n, const char *name, uint64_t *out,
			struct failure *fail)
{
	/* A probe is refused before the log rules, on a counter of its own. */
	static const char *const kinds[] = { "allowed", "refused", "probed" };
	char buf[MNL_SOCKET_BUFFER_SIZE];
	uint64_t pkts = 0;

	for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
		_cleanup_free_ char *counter = service_counter(name, kinds[k]);
		struct nlmsghdr *nlh;
		uint32_t seq = n->seq++;
		int r;

		if (!counter)
			return -ENOMEM;
		nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETOBJ, NFPROTO_INET,
					    NLM_F_ACK, seq);
		mnl_attr_put_strz(nlh, NFTA_OBJ_TABLE, NFT_TABLE_NAME);
		mnl_attr_put_strz(nlh, NFTA_OBJ_NAME, counter);
		mnl_attr_put_u32(nlh, NFTA_OBJ_TYPE, htonl(NFT_OBJECT_COUNTER));
		r = nl_talk(n->nl, n->portid, nlh, seq, buf, sizeof(buf),
			    counter_cb, &pkts, fail ? fail->kernel_msg : NULL,
			    fail ? sizeof(fail->kernel_msg) : 0);
		if (r == -ENOENT)
			continue; /* no such counter: it counted nothing */
		if (r < 0) {
			failure_set(fail, "read counter %s", counter);
			return r;
		}
	}
	*out = pkts;
	return 0;
}

void nft_state_free(struct nft_state *s)
{
	for (size_t i = 0; i < s->n_services; i++)
		free(s->services[i].cgroups);
	free(s->services);
	free(s->levels);
	free(s->exclusive);
	*s = (struct nft_state){ 0 };
}

const struct nft_service *nft_state_find(const struct nft_state *s,
					 const char *name)
{
	struct nft_service key;

	if (!s->n_services || strlen(name) >= sizeof(key.name))
		return NULL;
	snprintf(key.name, sizeof(key.name), "%s", name);
	return bsearch(&key, s->services, s->n_services, sizeof(*s->services),
		       service_name_cmp);
}

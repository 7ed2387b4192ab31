/*
 * The registry of built-in providers.  The order is the order of preference
 * when no provider is named: the first that supports a volume makes its
 * copies.  btrfs comes first because a btrfs volume on a loop device could
 * be served by both, and a subvolume snapshot is cheaper and needs no freeze.
 *
 * Provider IDs are fixed GUIDs, generated once; they are recorded with every
 * copy, so they never change.
 */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "vss-private.h"
#include "util/banned.h"

static const struct vss_provider *const providers[] = {
	&vss__provider_btrfs,
	&vss__provider_image,
};

#define N_PROVIDERS (sizeof(providers) / sizeof(providers[0]))

/* Binary forms of the providers' id texts, parsed once on first use. */
static struct vss_guid provider_ids[N_PROVIDERS];
static bool provider_ids_ready;

static void ids_init(void)
{
	/*
	 * A benign race: two threads may both parse the same constant texts
	 * into the same bytes.  The texts are ours, so parsing cannot fail.
	 */
	if (__atomic_load_n(&provider_ids_ready, __ATOMIC_ACQUIRE))
		return;
	for (size_t i = 0; i < N_PROVIDERS; i++) {
		struct vss_guid g;

		if (vss_guid_parse(providers[i]->id, &g) == 0)
			provider_ids[i] = g;
	}
	__atomic_store_n(&provider_ids_ready, true, __ATOMIC_RELEASE);
}

static ssize_t index_of(const struct vss_provider *prov)
{
	for (size_t i = 0; i < N_PROVIDERS; i++)
		if (providers[i] == prov)
			return (ssize_t)i;
	return -1;
}

VSS_EXPORT size_t vss_provider_count(void)
{
	return N_PROVIDERS;
}

VSS_EXPORT const struct vss_provider *vss_provider_at(size_t i)
{
	return i < N_PROVIDERS ? providers[i] : NULL;
}

static const struct vss_provider *find_by_id(const struct vss_guid *id)
{
	ids_init();
	for (size_t i = 0; i < N_PROVIDERS; i++)
		if (vss_guid_equal(&provider_ids[i], id))
			return providers[i];
	return NULL;
}

VSS_EXPORT const struct vss_provider *vss_provider_find(const char *name_or_id)
{
	struct vss_guid id;
	const struct vss_provider *p = NULL;

	if (!name_or_id || !*name_or_id) {
		vss__error(-VSS_E_PROVIDER_NOT_REGISTERED, "no provider name given (known: btrfs, image)");
		return NULL;
	}
	for (size_t i = 0; i < N_PROVIDERS; i++)
		if (strcasecmp(providers[i]->name, name_or_id) == 0)
			return providers[i];
	/* Only text shaped like a GUID is tried as one, so a misspelt name
	 * is reported as a name, not as a malformed GUID. */
	if ((strlen(name_or_id) == 36 || (strlen(name_or_id) == 38 && name_or_id[0] == '{')) &&
	    vss_guid_parse(name_or_id, &id) == 0)
		p = find_by_id(&id);
	if (!p)
		vss__error(-VSS_E_PROVIDER_NOT_REGISTERED,
			   "no provider named '%s' (known: btrfs, image)", name_or_id);
	return p;
}

VSS_EXPORT const char *vss_provider_get_name(const struct vss_provider *prov)
{
	return prov ? prov->name : NULL;
}

VSS_EXPORT const char *vss_provider_get_display_name(const struct vss_provider *prov)
{
	return prov ? prov->display_name : NULL;
}

VSS_EXPORT const char *vss_provider_get_version(const struct vss_provider *prov)
{
	return prov ? prov->version : NULL;
}

VSS_EXPORT const struct vss_guid *vss_provider_get_id(const struct vss_provider *prov)
{
	ssize_t i = index_of(prov);

	if (i < 0)
		return NULL;
	ids_init();
	return &provider_ids[i];
}

VSS_EXPORT enum vss_provider_type vss_provider_get_type(const struct vss_provider *prov)
{
	return prov ? prov->type : VSS_PROV_UNKNOWN;
}

VSS_EXPORT int vss_provider_supports(const struct vss_provider *prov, const struct vss_volume *vol)
{
	if (!prov || !vol)
		return vss__error(-EINVAL, "no provider or no volume given");
	return prov->supports(vol);
}

const struct vss_provider *vss__provider_for_snapshot(const struct vss_snapshot *snap)
{
	const struct vss_provider *p = NULL;

	if (!vss_guid_is_null(&snap->provider_id))
		p = find_by_id(&snap->provider_id);
	if (!p && snap->provider_name)
		for (size_t i = 0; i < N_PROVIDERS && !p; i++)
			if (strcasecmp(providers[i]->name, snap->provider_name) == 0)
				p = providers[i];
	return p;
}

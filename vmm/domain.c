// SPDX-License-Identifier: GPL-2.0-only
/*
 * libvirt domain XML for `vmm run --domain`. libvirt parses and validates
 * the file (virDomainDefineXMLFlags with VIR_DOMAIN_DEFINE_VALIDATE, on
 * the test driver, which lives in the libvirt library: no daemon), and
 * hands back its normalised form (virDomainGetXMLDesc) and the memory
 * values (virDomainGetMaxMemory, virDomainGetMemoryParameters). That form
 * is walked with libxml2, element by element: each is mapped to the
 * configuration or refused by name. docs/libvirt.md lists the mapping.
 */
#include <errno.h>
#include <fcntl.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/domain.h"
#include "vmm/options.h"
#include "vmm/util.h"



struct dom_ctx {
	const char *path;
	struct vm_config *cfg;
	xmlDocPtr orig;		/* the file as written, to tell libvirt's defaults apart */
	unsigned long long hard_kib, soft_kib, swap_kib;
	bool console_seen, serial_seen;
};

static void quiet_errors(void *opaque, virErrorPtr err)
{
}

static bool is(xmlNodePtr n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && !xmlStrcmp(n->name, (const xmlChar *)name);
}

static char *attr(xmlNodePtr n, const char *name)
{
	return (char *)xmlGetProp(n, (const xmlChar *)name);
}

static bool attr_is(xmlNodePtr n, const char *name, const char *want)
{
	char *v = attr(n, name);
	bool eq = v && want ? !strcmp(v, want) : !v && !want;

	xmlFree(v);
	return eq;
}

static char *text(xmlNodePtr n)
{
	return (char *)xmlNodeGetContent(n);
}

static int refuse(struct dom_ctx *d, const char *elem, const char *why)
{
	vmm_err("--domain %s: <%s>: %s", d->path, elem, why);
	return -1;
}

/* Whether the file as written has an element NAME under the root. */
static bool written(struct dom_ctx *d, const char *name)
{
	for (xmlNodePtr n = xmlDocGetRootElement(d->orig)->children; n; n = n->next)
		if (is(n, name))
			return true;
	return false;
}

static int dom_os(struct dom_ctx *d, xmlNodePtr os)
{
	struct vm_config *cfg = d->cfg;
	bool kernel = false;

	for (xmlNodePtr n = os->children; n; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (is(n, "type")) {
			char *t = text(n);
			bool ok = t && !strcmp(t, "hvm") &&
				  (attr_is(n, "arch", NULL) || attr_is(n, "arch", "x86_64")) &&
				  attr_is(n, "machine", NULL);

			xmlFree(t);
			if (!ok)
				return refuse(d, "os/type", "vmm runs hvm guests on x86_64 with its "
					      "own machine (no arch other than x86_64, no machine=)");
		} else if (is(n, "kernel")) {
			kernel = true;
			if (!cfg->image)
				cfg->image = text(n);
		} else if (is(n, "initrd")) {
			if (!cfg->initrd)
				cfg->initrd = text(n);
		} else if (is(n, "cmdline")) {
			if (!cfg->cmdline)
				cfg->cmdline = text(n);
		} else if (!is(n, "boot")) {
			/* <boot dev=> only matters for firmware boot; a kernel is booted directly. */
			char elem[64];

			snprintf(elem, sizeof(elem), "os/%s", (const char *)n->name);
			return refuse(d, elem, "not supported: vmm boots a kernel or multiboot "
				      "image directly (no firmware, loader or nvram)");
		}
	}
	if (!kernel && !cfg->image)
		return refuse(d, "os", "no <kernel>: vmm boots a kernel or multiboot image "
			      "directly (give it in <os><kernel> or as IMAGE)");
	return 0;
}

static int dom_memtune(struct dom_ctx *d, xmlNodePtr mt)
{
	struct vm_config *cfg = d->cfg;

	for (xmlNodePtr n = mt->children; n; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (!is(n, "hard_limit") && !is(n, "soft_limit") && !is(n, "swap_hard_limit")) {
			char elem[64];

			snprintf(elem, sizeof(elem), "memtune/%s", (const char *)n->name);
			return refuse(d, elem, "not supported (hard_limit, soft_limit and "
				      "swap_hard_limit are)");
		}
	}
	if (d->hard_kib) {
		if (d->hard_kib * KiB < 1 * MiB)
			return refuse(d, "memtune/hard_limit", "below 1 MiB");
		if (!cfg->mem_resident)
			cfg->mem_resident = d->hard_kib * KiB;
	}
	/* --mem-soft-limit and --swap-max win, as every command-line option does. */
	if (!cfg->dom.soft_limit)
		cfg->dom.soft_limit = d->soft_kib * KiB;
	if (!cfg->dom.swap_limit)
		cfg->dom.swap_limit = d->swap_kib * KiB;
	return 0;
}

/* <serial>/<console>: the one 16550A at 0x3f8, on stdio or a new pty. */
static int dom_serial(struct dom_ctx *d, xmlNodePtr n, const char *elem)
{
	bool *seen = is(n, "serial") ? &d->serial_seen : &d->console_seen;
	bool pty = attr_is(n, "type", "pty");

	if (*seen)
		return refuse(d, elem, "vmm has one serial port (COM1)");
	*seen = true;
	if (!pty && !attr_is(n, "type", "stdio"))
		return refuse(d, elem, "only type='stdio' and type='pty' are supported");
	for (xmlNodePtr t = n->children; t; t = t->next) {
		if (is(t, "target") && !attr_is(t, "port", "0") && !attr_is(t, "port", NULL))
			return refuse(d, elem, "only port 0 (COM1) exists");
		if (is(t, "target") && !attr_is(t, "type", NULL) && !attr_is(t, "type", "serial") &&
		    !attr_is(t, "type", "isa-serial"))
			return refuse(d, elem, "only a serial console target exists (no virtio console)");
	}
	if (pty && is(n, "serial")) {
		/* COM1 is the VMM's stdin/stdout (serial.c): put a pty master there. */
		int fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);

		if (fd < 0 || grantpt(fd) || unlockpt(fd) || dup2(fd, STDIN_FILENO) < 0 ||
		    dup2(fd, STDOUT_FILENO) < 0) {
			vmm_err("--domain %s: <serial type='pty'>: cannot create a pty: %s",
				d->path, strerror(errno));
			return -1;
		}
		vmm_err("serial port COM1 on %s", ptsname(fd));
		close(fd);
	}
	return 0;
}

/*
 * <disk type='file' device='disk'> with <source file=>, <target bus='virtio'>,
 * optional <readonly/>, <serial> and <driver cache='none|writeback'>: one
 * --disk. The command line's --disk options come first; the XML's follow.
 */
static int dom_disk(struct dom_ctx *d, xmlNodePtr n, const char *elem)
{
	char spec[PATH_MAX + 64], *file = NULL, *bus = NULL, *serial = NULL, *cache = NULL;
	bool ro = false;
	int ret = -1, len;

	if (!attr_is(n, "type", "file"))
		return refuse(d, elem, "only type='file' disks (a raw image or a block device)");
	if (!attr_is(n, "device", "disk") && !attr_is(n, "device", NULL))
		return refuse(d, elem, "only device='disk'");
	for (xmlNodePtr c = n->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (is(c, "source") && !file)
			file = attr(c, "file");
		else if (is(c, "target") && !bus)
			bus = attr(c, "bus");
		else if (is(c, "readonly"))
			ro = true;
		else if (is(c, "serial") && !serial)
			serial = text(c);
		else if (is(c, "driver")) {
			char *type = attr(c, "type");
			bool raw = !type || !strcmp(type, "raw");

			xmlFree(type);
			cache = attr(c, "cache");
			if (!raw) {
				ret = refuse(d, elem, "only <driver type='raw'> images");
				goto out;
			}
		} else if (!is(c, "alias") && !is(c, "address")) {
			snprintf(spec, sizeof(spec), "%s/%s", elem, (const char *)c->name);
			ret = refuse(d, spec, "not supported");
			goto out;
		}
	}
	if (!file || strchr(file, ',')) {
		ret = refuse(d, elem, file ? "a file name with a comma" : "no <source file=...>");
		goto out;
	}
	if (bus && strcmp(bus, "virtio")) {
		ret = refuse(d, elem, "only <target bus='virtio'> (virtio-blk)");
		goto out;
	}
	if (cache && strcmp(cache, "none") && strcmp(cache, "writeback")) {
		ret = refuse(d, elem, "only <driver cache='none'> or cache='writeback'");
		goto out;
	}
	if (serial && strchr(serial, ',')) {
		ret = refuse(d, elem, "a <serial> with a comma");
		goto out;
	}
	len = snprintf(spec, sizeof(spec), "%s%s%s%s%s%s", file, ro ? ",ro" : "",
		       serial ? ",serial=" : "", serial ? serial : "",
		       cache ? ",cache=" : "", cache ? cache : "");
	if (len < 0 || (size_t)len >= sizeof(spec))
		ret = refuse(d, elem, "the file name is too long");
	else
		ret = options_add_disk(d->cfg, spec) ? 0 : -1;
out:
	xmlFree(file);
	xmlFree(bus);
	xmlFree(serial);
	xmlFree(cache);
	return ret;
}

static int dom_devices(struct dom_ctx *d, xmlNodePtr devs)
{
	char elem[80];

	for (xmlNodePtr n = devs->children; n; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		snprintf(elem, sizeof(elem), "devices/%s", (const char *)n->name);
		if (is(n, "emulator"))
			continue;	/* names the hypervisor binary: here, vmm itself */
		if (is(n, "serial") || is(n, "console")) {
			if (dom_serial(d, n, elem))
				return -1;
		} else if (is(n, "memballoon")) {
			if (attr_is(n, "model", "none"))
				continue;
			if (!attr_is(n, "model", "virtio"))
				return refuse(d, elem, "only model='virtio' or 'none'");
			d->cfg->dom.balloon = true;
			d->cfg->dom.free_page_reporting = attr_is(n, "freePageReporting", "on");
		} else if (is(n, "disk")) {
			if (dom_disk(d, n, elem))
				return -1;
		} else {
			return refuse(d, elem, "no such device in vmm (it has a serial port, the "
				      "exit port and fw_cfg)");
		}
	}
	return 0;
}

static int dom_vcpu(struct dom_ctx *d, xmlNodePtr n)
{
	char *t = text(n), *end;
	unsigned long v = t ? strtoul(t, &end, 10) : 0;
	bool ok = t && !*end && v >= 1 && v <= VMM_MAX_CPUS;

	xmlFree(t);
	if (!ok)
		return refuse(d, "vcpu", "expected 1 to 255 vCPUs");
	if (!attr_is(n, "cpuset", NULL) || !(attr_is(n, "current", NULL)))
		return refuse(d, "vcpu", "cpuset= and current= are not supported");
	if (!d->cfg->cpus)
		d->cfg->cpus = v;
	return 0;
}

/* One child of <domain>. */
static int dom_element(struct dom_ctx *d, xmlNodePtr n, unsigned long max_kib)
{
	if (is(n, "name")) {
		d->cfg->dom.name = text(n);
	} else if (is(n, "uuid") || is(n, "title") || is(n, "description") || is(n, "metadata")) {
		/* identity and notes: nothing the guest sees */
	} else if (is(n, "memory")) {
		if (!d->cfg->mem)
			d->cfg->mem = (uint64_t)max_kib * KiB;
	} else if (is(n, "currentMemory")) {
		char *t = text(n);
		bool same = t && strtoull(t, NULL, 10) == max_kib;

		xmlFree(t);
		if (!same)
			return refuse(d, "currentMemory", "starting below <memory> needs a balloon "
				      "target at boot, which vmm does not support");
	} else if (is(n, "memtune")) {
		return dom_memtune(d, n);
	} else if (is(n, "vcpu")) {
		return dom_vcpu(d, n);
	} else if (is(n, "os")) {
		return dom_os(d, n);
	} else if (is(n, "devices")) {
		return dom_devices(d, n);
	} else if (is(n, "clock")) {
		if (!attr_is(n, "offset", "utc") || xmlFirstElementChild(n))
			return refuse(d, "clock", "only offset='utc' without timers");
	} else if (is(n, "on_poweroff") || is(n, "on_crash") || is(n, "on_reboot")) {
		char *t = text(n);
		/* libvirt's default on_reboot is restart; vmm ends instead (status 0). */
		bool ok = t && (!strcmp(t, "destroy") ||
				(is(n, "on_reboot") && !strcmp(t, "restart") && !written(d, "on_reboot")));

		xmlFree(t);
		if (!ok)
			return refuse(d, (const char *)n->name, "vmm ends the VM on a reset, a "
				      "power-off or a crash: only 'destroy' is supported");
	} else if (is(n, "features")) {
		for (xmlNodePtr f = n->children; f; f = f->next) {
			char elem[64];

			if (f->type != XML_ELEMENT_NODE || is(f, "apic") || is(f, "pae"))
				continue;
			snprintf(elem, sizeof(elem), "features/%s", (const char *)f->name);
			return refuse(d, elem, "not supported (vmm has no ACPI; apic and pae are "
				      "always on)");
		}
	} else if (is(n, "cpu")) {
		if (!attr_is(n, "mode", "host-passthrough") || xmlFirstElementChild(n))
			return refuse(d, "cpu", "only mode='host-passthrough' (as --cpuid-host), "
				      "without topology or features");
		d->cfg->cpuid_host = true;
	} else {
		return refuse(d, (const char *)n->name, "not supported by vmm");
	}
	return 0;
}

static void memory_params(struct dom_ctx *d, virDomainPtr dom)
{
	virTypedParameterPtr p;
	int np = 0;

	if (virDomainGetMemoryParameters(dom, NULL, &np, 0) < 0 || np <= 0)
		return;
	p = calloc(np, sizeof(*p));
	if (p && virDomainGetMemoryParameters(dom, p, &np, 0) == 0) {
		for (int i = 0; i < np; i++) {
			unsigned long long v = p[i].value.ul;

			if (v >= VIR_DOMAIN_MEMORY_PARAM_UNLIMITED)
				v = 0;
			if (!strcmp(p[i].field, VIR_DOMAIN_MEMORY_HARD_LIMIT))
				d->hard_kib = v;
			else if (!strcmp(p[i].field, VIR_DOMAIN_MEMORY_SOFT_LIMIT))
				d->soft_kib = v;
			else if (!strcmp(p[i].field, VIR_DOMAIN_MEMORY_SWAP_HARD_LIMIT))
				d->swap_kib = v;
		}
	}
	free(p);
}

static int dom_walk(struct dom_ctx *d, virDomainPtr dom)
{
	unsigned long max_kib = virDomainGetMaxMemory(dom);
	char *xml = virDomainGetXMLDesc(dom, 0);
	xmlDocPtr doc = xml ? xmlReadMemory(xml, strlen(xml), "domain.xml", NULL, XML_PARSE_NONET) : NULL;
	xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
	int ret = -1;

	free(xml);
	memory_params(d, dom);
	if (!root) {
		vmm_err("--domain %s: libvirt returned no usable XML", d->path);
	} else if (!attr_is(root, "type", "kvm")) {
		refuse(d, "domain", "only type='kvm' (vmm runs guests on KVM)");
	} else {
		ret = 0;
		for (xmlNodePtr n = root->children; n && !ret; n = n->next)
			if (n->type == XML_ELEMENT_NODE)
				ret = dom_element(d, n, max_kib);
	}
	xmlFreeDoc(doc);
	return ret;
}

int domain_apply(const char *path, struct vm_config *cfg)
{
	struct dom_ctx d = { .path = path, .cfg = cfg };
	virConnectPtr conn;
	virDomainPtr dom;
	size_t len;
	const char *why = NULL;
	char *raw = read_file(path, &len, &why), *xml = raw ? strndup(raw, len) : NULL;
	int ret = -1;

	free(raw);
	if (!xml) {
		vmm_err("--domain %s: cannot read: %s", path, why ? why : strerror(errno));
		return -1;
	}
	len = strlen(xml);
	d.orig = xmlReadMemory(xml, len, path, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR |
			       XML_PARSE_NOWARNING);
	if (!d.orig || !xmlDocGetRootElement(d.orig)) {
		const xmlError *e = xmlGetLastError();

		vmm_err("--domain %s: not well-formed XML: %s", path,
			e && e->message ? e->message : "empty document");
		free(xml);
		xmlFreeDoc(d.orig);
		return -1;
	}
	virSetErrorFunc(NULL, quiet_errors);
	conn = virConnectOpen("test:///default");
	if (!conn) {
		vmm_err("--domain %s: libvirt's test driver: %s", path, virGetLastErrorMessage());
		goto out;
	}
	dom = virDomainDefineXMLFlags(conn, xml, VIR_DOMAIN_DEFINE_VALIDATE);
	if (!dom) {
		vmm_err("--domain %s: libvirt rejects the domain: %s", path, virGetLastErrorMessage());
	} else {
		ret = dom_walk(&d, dom);
		virDomainUndefine(dom);
		virDomainFree(dom);
	}
	virConnectClose(conn);
out:
	xmlFreeDoc(d.orig);
	free(xml);
	return ret;
}

/* SPDX-License-Identifier: MIT */
/*
 * A device's life, in one order for every device (see device.h): made and
 * given its defaults, started, ready once the kernel made its node, stopped
 * (parked requests answered, clients released, then the device's stop),
 * saved, freed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "device-private.h"
#include "log.h"

int device_new(const struct cusekit_device_ops *ops, struct cusekit_device **ret)
{
	_cleanup_free_ struct cusekit_device *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	d->ops = ops;
	d->group = CUSEKIT_NO_GROUP;
	list_init(&d->clients);
	/* One byte at least: the userdata pointer is never NULL. */
	d->userdata = calloc(1, ops->size ?: 1);
	if (!d->userdata)
		return -ENOMEM;
	if (ops->init)
		ops->init(d->userdata);
	*ret = TAKE_PTR(d);
	return 0;
}

int device_start(struct cusekit_device *d)
{
	d->group = cusekit_group_resolve(d->ops->node_group, "the node's group");
	return d->ops->start ? d->ops->start(d) : 0;
}

void device_stop(struct cusekit_device *d, const char *why, int error)
{
	struct list_node *i, *tmp;

	if (d->stopping)
		return;
	d->stopping = true;
	log_info("Stopping (%s), %" PRIu32 " client(s) open.", why, d->clients_open);
	sd_notify(false, "STOPPING=1\nSTATUS=Stopping");
	/* Clients first: every parked request is answered and every client
	 * released while the device is still whole, so no handler ever runs
	 * on a stopped device. */
	list_for_each_safe(i, tmp, &d->clients)
		client_abandon_parked(list_entry(i, struct cusekit_client, link), ENODEV, false);
	list_for_each_safe(i, tmp, &d->clients)
		device_release(d, list_entry(i, struct cusekit_client, link));
	if (d->ops->stop)
		d->ops->stop(d);
	if (d->event)
		sd_event_exit(d->event, error);
}

int device_save(struct cusekit_device *d)
{
	int r;

	if (!d->ops->save)
		return 0;
	r = d->ops->save(d);
	if (r < 0)
		log_warning_errno(r, "Failed to save state: %m");
	return r;
}

void device_free(struct cusekit_device *d)
{
	if (!d)
		return;
	/* Only a device that came up has state worth writing: a failed start
	 * must not overwrite good state with nothing. */
	if (d->ready) {
		device_stop(d, "exit", 0);
		device_save(d);
	}
	sd_event_source_disable_unref(d->fuse_source);
	sd_event_source_disable_unref(d->save_timer);
	if (d->session)
		d->transport->close(d);
	if (d->ops->destroy)
		d->ops->destroy(d);
	sd_event_unref(d->event);
	free(d->read_buffer);
	free(d->node_path);
	free(d->userdata);
	cusekit_settings_done(&d->settings);
	free(d);
}

void device_node_ready(struct cusekit_device *d)
{
	/* Where no udev runs (VMs, containers) the node would stay root 0600:
	 * give it the documented owner ourselves. The fuse transport reports
	 * mode and group through getattr instead. */
	if (d->transport == &transport_cuse) {
		if (chown(d->node_path, 0, device_node_gid(d)) < 0)
			log_warning_errno(negative_errno(), "Failed to chown %s: %m", d->node_path);
		if (chmod(d->node_path, d->ops->node_mode) < 0)
			log_warning_errno(negative_errno(), "Failed to chmod %s: %m", d->node_path);
	}
	d->ready = true;
	log_info("Serving %s (%s transport, mode %04o, group %u).", d->node_path, d->transport->name,
		 (unsigned)d->ops->node_mode, (unsigned)device_node_gid(d));
	sd_notifyf(false, "READY=1\nSTATUS=Serving %s", d->node_path);
}

/* SPDX-License-Identifier: MIT */
/*
 * The daemon: one thread, one sd-event loop. The fuse channel is one event
 * source beside the device's own (netlink, fanotify, timers) and the signals,
 * which arrive through signalfd: a signal only ever sets the loop's course,
 * never runs code at an arbitrary point.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "device-private.h"
#include "log.h"

/* Requests handled per wake-up before timers and signals get their turn. */
#define FUSE_BATCH 64

/* error: 0 for a stop asked for (a signal), -errno when the device cannot
 * go on: the exit status then says so, and systemd's Restart=on-failure
 * brings the device back. */
static void device_stop(struct cusekit_device *d, const char *why, int error)
{
	if (d->stopping)
		return;
	d->stopping = true;
	log_info("Stopping (%s), %" PRIu32 " client(s) open.", why, d->clients_open);
	sd_notify(false, "STOPPING=1\nSTATUS=Stopping");
	if (d->ops->stop)
		d->ops->stop(d);
	device_answer_all_pending(d, ENODEV);
	sd_event_exit(d->event, error);
}

static int device_save(struct cusekit_device *d)
{
	int r;

	if (!d->ops->save)
		return 0;
	r = d->ops->save(d);
	if (r < 0)
		log_warning_errno(r, "Failed to save state: %m");
	return r;
}

static int on_stop_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	(void)s;
	device_stop(userdata, strsignal((int)si->ssi_signo), 0);
	return 0;
}

static int on_save_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	(void)usec;
	device_save(userdata);
	return sd_event_source_set_time_relative(s, CUSEKIT_SAVE_INTERVAL_SEC * 1000000ULL);
}

static int on_fuse_request(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct cusekit_device *d = userdata;

	(void)s;
	(void)fd;
	(void)revents;
	for (int i = 0; i < FUSE_BATCH && !d->stopping; i++) {
		int r = fuse_session_receive_buf(d->session, &d->buf);

		if (r == -EAGAIN || r == -EINTR)
			return 0;
		if (r < 0) {
			log_error_errno(r, "Failed to read from the %s channel: %m", d->transport->name);
			device_stop(d, "channel error", r);
			return 0;
		}
		if (fuse_session_exited(d->session)) {
			/* ENODEV: unmounted under us, or CUSE refused the node. */
			if (!d->ready) {
				log_error("The kernel refused to create %s (is the name taken?).", d->node_path);
				d->stopping = true;
				return sd_event_exit(d->event, -ENODEV);
			}
			log_warning("%s was removed from under the daemon.", d->node_path);
			device_stop(d, "node removed", -ENODEV);
			return 0;
		}
		if (r > 0)
			fuse_session_process_buf(d->session, &d->buf);
	}
	return 0;
}

static int resolve_group(struct cusekit_device *d)
{
	struct group *g;

	if (!d->ops->node_group)
		return 0;
	errno = 0;
	g = getgrnam(d->ops->node_group);
	if (!g) {
		/* Never fall back to a real group: gid 0 would hand the group's
		 * rights to everyone in group root. */
		log_warning("Group '%s' does not exist: the node's group is root, and no group grants anything.",
			    d->ops->node_group);
		d->group = CUSEKIT_NO_GROUP;
		return 0;
	}
	d->group = g->gr_gid;
	return 0;
}

static const struct transport *choose_transport(struct cusekit_device *d)
{
	int fd;

	switch (d->settings.transport) {
	case CUSEKIT_TRANSPORT_CUSE:
		return &transport_cuse;
	case CUSEKIT_TRANSPORT_FUSE:
		return &transport_fuse;
	case CUSEKIT_TRANSPORT_AUTO:
		break;
	}
	fd = cusekit_open_cuse();
	if (fd >= 0) {
		close(fd);
		log_info("Transport: cuse (/dev/cuse is available).");
		return &transport_cuse;
	}
	log_info_errno(fd, "Transport: fuse fallback (/dev/cuse: %m).");
	return &transport_fuse;
}

static int setup_loop(struct cusekit_device *d)
{
	sigset_t mask;
	int r;

	r = sd_event_default(&d->event);
	if (r < 0)
		return log_error_errno(r, "Failed to create the event loop: %m");

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	/* A client that vanishes must never kill us through a broken pipe. */
	signal(SIGPIPE, SIG_IGN);

	r = sd_event_add_signal(d->event, NULL, SIGTERM, on_stop_signal, d);
	if (r >= 0)
		r = sd_event_add_signal(d->event, NULL, SIGINT, on_stop_signal, d);
	if (r < 0)
		return log_error_errno(r, "Failed to watch signals: %m");

	/* Sends WATCHDOG=1 at half of WatchdogSec= while the loop turns. */
	r = sd_event_set_watchdog(d->event, true);
	if (r < 0)
		return log_error_errno(r, "Failed to set up the watchdog: %m");

	if (d->ops->save) {
		r = sd_event_add_time_relative(d->event, &d->save_timer, CLOCK_MONOTONIC,
					       CUSEKIT_SAVE_INTERVAL_SEC * 1000000ULL, 0, on_save_timer, d);
		if (r < 0)
			return log_error_errno(r, "Failed to add the save timer: %m");
	}
	return 0;
}

static int serve(struct cusekit_device *d)
{
	int fd, r;

	d->transport = choose_transport(d);
	r = d->transport->open(d);
	if (r < 0)
		return r;

	fd = fuse_session_fd(d->session);
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
		return log_error_errno(negative_errno(), "Failed to make the channel non-blocking: %m");
	r = sd_event_add_io(d->event, &d->fuse_source, fd, EPOLLIN, on_fuse_request, d);
	if (r < 0)
		return log_error_errno(r, "Failed to watch the channel: %m");

	return sd_event_loop(d->event);
}

static void device_free(struct cusekit_device *d)
{
	/* Clients still open at exit are gone with the channel. */
	device_free_clients(d);
	sd_event_source_disable_unref(d->fuse_source);
	sd_event_source_disable_unref(d->save_timer);
	if (d->session)
		d->transport->close(d);
	if (d->ops->destroy)
		d->ops->destroy(d);
	sd_event_unref(d->event);
	free(d->buf.mem);
	free(d->node_path);
	cusekit_settings_done(&d->settings);
}

int cusekit_main(int argc, char *argv[], const struct cusekit_device_ops *ops, void *userdata)
{
	struct cusekit_device d = {
		.ops = ops,
		.userdata = userdata,
		.clients = LIST_INIT(d.clients),
	};
	int r;

	log_setup(program_invocation_short_name, LOG_INFO);
	r = cusekit_parse_args(argc, argv, ops, userdata, &d.settings);
	if (r != 0) {
		cusekit_settings_done(&d.settings);
		return r > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
	}
	log_setup(program_invocation_short_name, d.settings.log_level);

	r = setup_loop(&d);
	if (r >= 0)
		r = resolve_group(&d);
	if (r >= 0 && ops->start)
		r = ops->start(&d);
	if (r >= 0)
		r = serve(&d);

	/* Only a device that came up has state worth writing: a failed start
	 * must not overwrite good state with nothing. */
	if (d.ready)
		device_save(&d);
	if (r < 0)
		sd_notifyf(false, "STATUS=Failed: %s\nERRNO=%i", strerror(-r), -r);
	device_free(&d);
	if (r >= 0)
		log_info("Stopped.");
	return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

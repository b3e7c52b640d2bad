/* SPDX-License-Identifier: MIT */
/*
 * The daemon: one thread, one sd-event loop. The fuse channel is one event
 * source beside the device's own (netlink, fanotify, timers) and the signals,
 * which arrive through signalfd: a signal only ever sets the loop's course,
 * never runs code at an arbitrary point.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "device-private.h"
#include "fuse-requests.h"
#include "log.h"

/* Requests handled per wake-up before timers and signals get their turn. */
#define FUSE_BATCH 64

static int on_stop_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	device_stop(userdata, strsignal((int)si->ssi_signo), 0);
	return 0;
}

static int on_reload_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	struct cusekit_device *d = userdata;
	int r;

	log_info("Reloading (%s).", strsignal((int)si->ssi_signo));
	sd_notify(false, "RELOADING=1\nSTATUS=Reloading");
	r = d->ops->reload(d);
	if (r < 0)
		log_warning_errno(r, "Failed to reload, going on as before: %m");
	sd_notifyf(false, "READY=1\nSTATUS=Serving %s", d->node_path);
	return 0;
}

static int on_save_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	device_save(userdata);
	return sd_event_source_set_time_relative(s, CUSEKIT_SAVE_INTERVAL_SEC * 1000000ULL);
}

static int on_fuse_request(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct cusekit_device *d = userdata;

	for (int i = 0; i < FUSE_BATCH && !d->stopping; i++) {
		int r = fuse_requests_receive(d);

		if (r == -EAGAIN)
			return 0;
		if (r == -ENODEV) {
			log_warning("%s was removed from under the daemon.", d->node_path);
			device_stop(d, "node removed", r);
			return 0;
		}
		if (r < 0) {
			log_error_errno(r, "Failed to read from the %s channel: %m", d->transport->name);
			device_stop(d, "channel error", r);
			return 0;
		}
	}
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
	if (d->ops->reload)
		sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	/* A client that vanishes must never kill us through a broken pipe. */
	signal(SIGPIPE, SIG_IGN);

	r = sd_event_add_signal(d->event, NULL, SIGTERM, on_stop_signal, d);
	if (r >= 0)
		r = sd_event_add_signal(d->event, NULL, SIGINT, on_stop_signal, d);
	if (r >= 0 && d->ops->reload)
		r = sd_event_add_signal(d->event, NULL, SIGHUP, on_reload_signal, d);
	if (r < 0)
		return log_error_errno(r, "Failed to watch signals: %m");

	/* Sends WATCHDOG=1 while the loop turns (see sd_event_set_watchdog). */
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

	fd = fuse_requests_fd(d);
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
		return log_error_errno(negative_errno(), "Failed to make the channel non-blocking: %m");
	r = sd_event_add_io(d->event, &d->fuse_source, fd, EPOLLIN, on_fuse_request, d);
	if (r < 0)
		return log_error_errno(r, "Failed to watch the channel: %m");

	return sd_event_loop(d->event);
}

int cusekit_main(int argc, char *argv[], const struct cusekit_device_ops *ops)
{
	struct cusekit_device *d = NULL;
	int r;

	log_setup(program_invocation_short_name, LOG_INFO);
	r = device_new(ops, &d);
	if (r < 0) {
		log_oom();
		return EXIT_FAILURE;
	}
	r = cusekit_parse_args(argc, argv, ops, d->userdata, &d->settings);
	if (r != 0) {
		device_free(d);
		return r > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
	}
	log_setup(program_invocation_short_name, d->settings.log_level);
	d->backend = &fuse_requests_backend;

	r = setup_loop(d);
	if (r >= 0)
		r = device_start(d);
	if (r >= 0)
		r = serve(d);

	if (r < 0)
		sd_notifyf(false, "STATUS=Failed: %s\nERRNO=%i", strerror(-r), -r);
	device_free(d);
	if (r >= 0)
		log_info("Stopped.");
	return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

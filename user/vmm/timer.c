/* The guest's timer: an 8259 interrupt controller (master only: ports 0x20, 0x21) and the
 * PIT's channel 0 (ports 0x40, 0x43), wired to guest pcore 0 as IRQ 0.  The PIT counts in
 * virtual time (the VMM's rdtsc), so a run's ticks come at the same points every time; a tick
 * is raised when guest pcore 0 exits after the deadline, or by whoever waits for it: the VMM
 * thread of a halted guest pcore 0 (HLT reflected), or the timer thread (guest pcore 0 halted
 * in the kernel).  Ticks that pass while IRQ 0 waits for its EOI merge into one, as on the
 * real chip.  The timer thread halts its vcore until the deadline; a guest that brings the
 * deadline closer meanwhile (a faster rate, say) notifies that vcore, which ends the halt. */
#include "vmm.h"

#define PIT_HZ 1193182UL

struct pic {
	int init_step, single, icw4;
	uint8_t base, imr, irr, isr;
};

static struct pic pic = { .imr = 0xff };

static struct {
	int access, mode, high_next, running, periodic; /* access: 1 low byte, 2 high, 3 both */
	uint16_t reload;
	uint64_t period, deadline;
} pit;

static uth_mutex_t lock;      /* all zero: UTH_MUTEX_INIT */
static uth_cond_var_t changed; /* the PIT or the mask changed, or the timer thread must stop */
static int stopping;
static uint64_t halted_until; /* the deadline the timer thread halts to, or 0 */
static uint32_t halted_vcore;  /* and the vcore it halts */

bool timer_port(uint16_t port)
{
	return port == 0x20 || port == 0x21 || port == 0x40 || port == 0x43;
}

/* Deliver the highest-priority requested IRQ if none is in service. */
static void pic_update(void)
{
	uint8_t ready = pic.irr & ~pic.imr;
	if (!ready || pic.isr || pic.init_step)
		return;
	int irq = __builtin_ctz(ready);
	pic.irr &= ~(1 << irq);
	pic.isr |= 1 << irq;
	vmm_interrupt_guest(0, pic.base + irq);
}

static void pic_out(uint16_t port, uint8_t value)
{
	if (port == 0x20 && value & 0x10) { /* ICW1: start initialisation */
		pic = (struct pic){ .init_step = 1, .single = value & 2, .icw4 = value & 1 };
		return;
	}
	if (port == 0x20) {
		if ((value & 0xe0) == 0x20) /* OCW2: non-specific EOI */
			pic.isr &= pic.isr - 1;
		pic_update();
		return;
	}
	switch (pic.init_step) {
	case 1: /* ICW2: vector base */
		pic.base = value & 0xf8;
		pic.init_step = !pic.single ? 2 : pic.icw4 ? 3 : 0;
		break;
	case 2: /* ICW3: cascade wiring (no slave here) */
		pic.init_step = pic.icw4 ? 3 : 0;
		break;
	case 3: /* ICW4: mode */
		pic.init_step = 0;
		break;
	default: /* OCW1: the mask */
		pic.imr = value;
		pic_update();
	}
}

static void pit_start(void)
{
	uint64_t count = pit.reload ? pit.reload : 65536;
	pit.period = count * 1000000000UL / PIT_HZ;
	pit.periodic = pit.mode == 2 || pit.mode == 3 || pit.mode == 6 || pit.mode == 7;
	pit.deadline = now_ns() + pit.period;
	pit.running = 1;
}

static void pit_out(uint16_t port, uint8_t value)
{
	if (port == 0x43) {
		if (value >> 6 != 0 || !(value & 0x30)) /* another channel, or a latch command */
			return;
		pit.access = (value >> 4) & 3;
		pit.mode = (value >> 1) & 7;
		pit.high_next = 0;
		pit.running = 0; /* a new mode stops the count until it is written */
		return;
	}
	/* a one-byte access mode zeroes the other byte of the count, as the 8254 does */
	if (pit.access == 1) {
		pit.reload = value;
	} else if (pit.access == 2) {
		pit.reload = (uint16_t)(value << 8);
	} else if (!pit.high_next) {
		pit.reload = (uint16_t)((pit.reload & 0xff00) | value);
		pit.high_next = 1; /* low byte in: the high byte follows */
		return;
	} else {
		pit.reload = (uint16_t)((pit.reload & 0xff) | value << 8);
		pit.high_next = 0;
	}
	pit_start();
}

static uint64_t next_tick_locked(void);

uint8_t timer_in(uint16_t port)
{
	uth_mutex_lock(&lock);
	uint8_t value = port == 0x21 ? pic.imr : port == 0x20 ? pic.irr : 0; /* no counter reads */
	uth_mutex_unlock(&lock);
	return value;
}

void timer_out(uint16_t port, uint8_t value)
{
	uth_mutex_lock(&lock);
	if (port == 0x20 || port == 0x21)
		pic_out(port, value);
	else
		pit_out(port, value);
	uth_cond_var_signal(&changed);
	uint64_t tick = next_tick_locked();
	if (halted_until && tick && tick < halted_until) { /* the timer thread would wake too late */
		halted_until = 0;
		vcore_notify(halted_vcore, EV_ALARM, 0, EVENT_IPI);
	}
	uth_mutex_unlock(&lock);
}

static void poll_locked(void)
{
	if (!pit.running)
		return;
	uint64_t now = now_ns();
	if (now < pit.deadline)
		return;
	pic.irr |= 1;
	if (pit.periodic)
		while (pit.deadline <= now)
			pit.deadline += pit.period;
	else
		pit.running = 0;
	pic_update();
}

void timer_poll(void)
{
	uth_mutex_lock(&lock);
	poll_locked();
	uth_mutex_unlock(&lock);
}

static uint64_t next_tick_locked(void)
{
	return pit.running && !(pic.imr & 1) && !pic.init_step ? pit.deadline : 0;
}

uint64_t timer_next_tick(void)
{
	uth_mutex_lock(&lock);
	uint64_t tick = next_tick_locked();
	uth_mutex_unlock(&lock);
	return tick;
}

void *timer_thread(void *arg)
{
	(void)arg;
	uth_mutex_lock(&lock);
	while (!stopping) {
		uint64_t tick = next_tick_locked();
		if (!tick) {
			uth_cond_var_wait(&changed, &lock);
			continue;
		}
		/* Notifications stay off until the halt is over, so one sent after the unlock is
		 * still pending when the halt starts, and ends it at once. */
		uth_disable_notifs();
		halted_until = tick;
		halted_vcore = vcore_id();
		uth_mutex_unlock(&lock);
		uint64_t now = now_ns();
		if (tick > now)
			sys_halt_core((tick - now + 999) / 1000);
		uth_enable_notifs();
		uth_mutex_lock(&lock);
		halted_until = 0;
		poll_locked();
	}
	uth_mutex_unlock(&lock);
	return NULL;
}

void timer_stop(void)
{
	uth_mutex_lock(&lock);
	stopping = 1;
	uth_cond_var_signal(&changed);
	uth_mutex_unlock(&lock);
}

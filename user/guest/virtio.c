/* A virtio 1.x driver for the console on the MMIO transport (device id 3): it negotiates
 * VIRTIO_F_VERSION_1, sets up the transmit queue (queue 1) and sends buffers through it,
 * waiting for the device to hand each back in the used ring. */
#include "guest.h"

#define MAGIC 0x000
#define VERSION 0x004
#define DEVICE_ID 0x008
#define DEVICE_FEATURES 0x010
#define DEVICE_FEATURES_SEL 0x014
#define DRIVER_FEATURES 0x020
#define DRIVER_FEATURES_SEL 0x024
#define QUEUE_SEL 0x030
#define QUEUE_NUM_MAX 0x034
#define QUEUE_NUM 0x038
#define QUEUE_READY 0x044
#define QUEUE_NOTIFY 0x050
#define STATUS 0x070
#define QUEUE_DESC_LOW 0x080
#define QUEUE_DESC_HIGH 0x084
#define QUEUE_DRIVER_LOW 0x090
#define QUEUE_DRIVER_HIGH 0x094
#define QUEUE_DEVICE_LOW 0x0a0
#define QUEUE_DEVICE_HIGH 0x0a4

#define ACKNOWLEDGE 1
#define DRIVER 2
#define DRIVER_OK 4
#define FEATURES_OK 8
#define TRANSMITQ 1
#define QSIZE 8

struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

static struct {
	struct vring_desc desc[QSIZE];
	struct {
		uint16_t flags, idx, ring[QSIZE];
	} avail;
	struct {
		uint16_t flags, idx;
		struct {
			uint32_t id, len;
		} ring[QSIZE];
	} used __attribute__((aligned(4)));
} txq __attribute__((aligned(16)));

static int ready;
static uint16_t sent;

static uint32_t reg(uint32_t offset)
{
	return mmio_read32(VIRTIO_MMIO_BASE + offset);
}

static void set(uint32_t offset, uint32_t value)
{
	mmio_write32(VIRTIO_MMIO_BASE + offset, value);
}

static void set64(uint32_t low, uint64_t value)
{
	set(low, (uint32_t)value);
	set(low + 4, (uint32_t)(value >> 32));
}

static int probe(void)
{
	if (reg(MAGIC) != 0x74726976 || reg(VERSION) != 2 || reg(DEVICE_ID) != 3)
		return -1;
	set(STATUS, 0); /* reset */
	set(STATUS, ACKNOWLEDGE);
	set(STATUS, ACKNOWLEDGE | DRIVER);
	set(DEVICE_FEATURES_SEL, 1);
	if (!(reg(DEVICE_FEATURES) & 1)) /* VIRTIO_F_VERSION_1 (bit 32) */
		return -1;
	set(DRIVER_FEATURES_SEL, 0);
	set(DRIVER_FEATURES, 0);
	set(DRIVER_FEATURES_SEL, 1);
	set(DRIVER_FEATURES, 1);
	set(STATUS, ACKNOWLEDGE | DRIVER | FEATURES_OK);
	if (!(reg(STATUS) & FEATURES_OK))
		return -1;
	set(QUEUE_SEL, TRANSMITQ);
	if (reg(QUEUE_READY) || reg(QUEUE_NUM_MAX) < QSIZE)
		return -1;
	set(QUEUE_NUM, QSIZE);
	set64(QUEUE_DESC_LOW, (uint64_t)txq.desc);
	set64(QUEUE_DRIVER_LOW, (uint64_t)&txq.avail);
	set64(QUEUE_DEVICE_LOW, (uint64_t)&txq.used);
	set(QUEUE_READY, 1);
	set(STATUS, ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK);
	ready = 1;
	return 0;
}

int virtio_console_write(const char *s, uint32_t len)
{
	if (!ready && probe() < 0)
		return -1;
	uint16_t slot = sent % QSIZE;
	txq.desc[slot] = (struct vring_desc){ .addr = (uint64_t)s, .len = len, .flags = 0, .next = 0 };
	txq.avail.ring[txq.avail.idx % QSIZE] = slot;
	__atomic_store_n(&txq.avail.idx, (uint16_t)(txq.avail.idx + 1), __ATOMIC_RELEASE);
	set(QUEUE_NOTIFY, TRANSMITQ);
	sent++;
	while (__atomic_load_n(&txq.used.idx, __ATOMIC_ACQUIRE) != sent) /* the device took it */
		;
	return 0;
}

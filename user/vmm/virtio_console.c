/* A virtio console on the virtio-mmio transport (virtio 1.x, version 2 registers, device id
 * 3, VIRTIO_F_VERSION_1 only): the guest's driver negotiates, sets up the transmit queue
 * (queue 1) in its memory and notifies; the VMM walks the available ring's descriptor chains,
 * writes their bytes to stdout and returns them in the used ring.  The receive queue (0) can be
 * set up but never gets input.  Only one guest pcore's thread drives it at a time (the guest
 * uses it from guest pcore 0). */
#include "vmm.h"

#define QUEUE_NUM_MAX 16
#define DESC_F_NEXT 1
#define DESC_F_WRITE 2
#define FEATURES_OK 8
#define DEVICE_FEATURES (1UL << 32) /* VIRTIO_F_VERSION_1 */

struct vq {
	uint32_t num, ready;
	uint64_t desc, driver, device;
	uint16_t last_avail;
};

static struct {
	uint32_t status, device_features_sel, driver_features_sel, queue_sel, interrupt_status;
	uint64_t driver_features;
	struct vq q[2];
} dev;

/* Guest memory at a guest-physical address, or NULL when [addr, addr + len) is not RAM. */
static void *at(uint64_t addr, uint64_t len)
{
	return addr < GUEST_MEM && len <= GUEST_MEM - addr ? guest_mem + addr : NULL;
}

static void transmit(struct vq *q)
{
	uint16_t *avail = at(q->driver, 4 + 2 * q->num);
	uint8_t *used = at(q->device, 4 + 8 * q->num);
	struct desc {
		uint64_t addr;
		uint32_t len;
		uint16_t flags, next;
	} *desc = at(q->desc, 16 * q->num);
	if (!avail || !used || !desc || !q->num)
		return;
	while (q->last_avail != __atomic_load_n(&avail[1], __ATOMIC_ACQUIRE)) {
		uint16_t head = avail[2 + q->last_avail % q->num], i = head;
		for (uint32_t hops = 0; i < q->num && hops < q->num; hops++) {
			char *bytes = at(desc[i].addr, desc[i].len);
			if (bytes && !(desc[i].flags & DESC_F_WRITE)) {
				if (!quiet)
					write_all(1, bytes, desc[i].len);
			}
			if (!(desc[i].flags & DESC_F_NEXT))
				break;
			i = desc[i].next;
		}
		uint16_t *used_idx = (uint16_t *)(used + 2);
		uint32_t *elem = (uint32_t *)(used + 4 + 8 * (*used_idx % q->num));
		elem[0] = head;
		elem[1] = 0; /* bytes written into the buffers: none, they are the guest's output */
		__atomic_store_n(used_idx, (uint16_t)(*used_idx + 1), __ATOMIC_RELEASE);
		q->last_avail++;
	}
	dev.interrupt_status |= 1; /* used buffer notification (the guest polls; no IRQ wired) */
}

uint32_t virtio_console_load(uint64_t offset)
{
	struct vq *q = dev.queue_sel < 2 ? &dev.q[dev.queue_sel] : NULL;
	switch (offset) {
	case 0x000: return 0x74726976; /* "virt" */
	case 0x004: return 2;          /* virtio 1.x register layout */
	case 0x008: return 3;          /* console */
	case 0x00c: return 0x6d766b6b; /* vendor "kkvm" */
	case 0x010: return dev.device_features_sel < 2 ? (uint32_t)(DEVICE_FEATURES >> (32 * dev.device_features_sel)) : 0;
	case 0x034: return q ? QUEUE_NUM_MAX : 0;
	case 0x044: return q ? q->ready : 0;
	case 0x060: return dev.interrupt_status;
	case 0x070: return dev.status;
	case 0x0fc: return 0;          /* config generation */
	default: return 0;             /* config space: cols, rows, ports (no features: zeros) */
	}
}

void virtio_console_store(uint64_t offset, uint32_t value)
{
	struct vq *q = dev.queue_sel < 2 ? &dev.q[dev.queue_sel] : NULL;
	switch (offset) {
	case 0x014: dev.device_features_sel = value; break;
	case 0x020:
		if (dev.driver_features_sel < 2) {
			int shift = 32 * dev.driver_features_sel;
			dev.driver_features = (dev.driver_features & ~(0xffffffffUL << shift)) | (uint64_t)value << shift;
		}
		break;
	case 0x024: dev.driver_features_sel = value; break;
	case 0x030: dev.queue_sel = value; break;
	case 0x038: if (q && value && value <= QUEUE_NUM_MAX && !(value & (value - 1))) q->num = value; break;
	case 0x044: if (q) q->ready = value & 1; break;
	case 0x050: if (value == 1 && dev.q[1].ready) transmit(&dev.q[1]); break;
	case 0x064: dev.interrupt_status &= ~value; break;
	case 0x070:
		if (value == 0) { /* reset */
			memset(&dev, 0, sizeof dev);
			break;
		}
		if (value & FEATURES_OK && dev.driver_features & ~DEVICE_FEATURES)
			value &= ~FEATURES_OK; /* the driver asked for what we do not offer */
		dev.status = value;
		break;
	case 0x080: if (q) q->desc = (q->desc & ~0xffffffffUL) | value; break;
	case 0x084: if (q) q->desc = (q->desc & 0xffffffffUL) | (uint64_t)value << 32; break;
	case 0x090: if (q) q->driver = (q->driver & ~0xffffffffUL) | value; break;
	case 0x094: if (q) q->driver = (q->driver & 0xffffffffUL) | (uint64_t)value << 32; break;
	case 0x0a0: if (q) q->device = (q->device & ~0xffffffffUL) | value; break;
	case 0x0a4: if (q) q->device = (q->device & 0xffffffffUL) | (uint64_t)value << 32; break;
	}
}

/*
 * pnmvp/hw/tenants.h: the tenant model as the host sees it: how many
 * tenants the device keeps, the id space, and the granule of a tenant's
 * DPA range. Reported by Get PNM Capabilities and checked by Create Tenant
 * (pnmvp/hw/mailbox.h has the payloads). This project's own design.
 *
 * A tenant owns one contiguous DPA range, PNM_TENANT_GRANULE_BYTES aligned
 * and sized, overlapping no other tenant; every queue pair and every buffer
 * a job names must lie inside its queue's tenant.
 */
#ifndef PNMVP_HW_TENANTS_H
#define PNMVP_HW_TENANTS_H

#define PNM_TENANTS_MAX 16u                /* tenant table size */
#define PNM_TENANT_ID_INVALID 0xFFFFu      /* reserved: never a tenant id */
#define PNM_TENANT_GRANULE_BYTES 0x200000u /* 2 MiB: base and length unit */

#endif /* PNMVP_HW_TENANTS_H */

// A response with attributes beside its `data`, as a Proxmox handler sets them (set_result_attrib): a log's `total`.

export class WithAttributes {
  constructor(
    readonly data: unknown,
    readonly attributes: Record<string, unknown>,
  ) {}
}

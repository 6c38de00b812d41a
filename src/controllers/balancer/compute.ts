/**
 * The compute service as the balancer controller sees it: it makes and removes amphora VMs bound to ports the
 * controller made. Each call is keyed by the amphora, so a call repeated after a crash finds what the first made
 * instead of making a second VM. The lab implements it over its control socket (`--compute lab:SOCKET`).
 */
import { LabControlClient } from '../../lab/control.js';

export interface AmphoraVmRequest {
  amphoraId: string;
  /** The first becomes eth0 (the VRRP/VIP network), the others eth1, eth2, … (member networks). */
  ports: string[];
  /** Hosts to keep away from: those of the balancer's other amphorae. */
  avoidHosts: string[];
}

export interface AmphoraVm {
  host: string;
  computeId: string;
}

export interface Compute {
  createAmphoraVm(request: AmphoraVmRequest): Promise<AmphoraVm>;
  /** Plugs one more port into a running VM (the next ethN); plugging one already plugged changes nothing. */
  attachPort(computeId: string, portId: string): Promise<void>;
  /** Removes the VM and its agent; one that is already gone is fine. */
  deleteAmphoraVm(computeId: string): Promise<void>;
}

/** `lab:SOCKET` -> the lab's compute; anything else is refused with what is accepted. */
export function computeFromSpec(spec: string): Compute {
  if (spec.startsWith('lab:') && spec.length > 'lab:'.length) return new LabControlClient(spec.slice('lab:'.length));
  throw new Error(`--compute must be lab:SOCKET (the lab's control socket), not '${spec}'`);
}

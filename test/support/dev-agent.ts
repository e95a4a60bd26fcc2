// The dev definition's extra guest of the app tests: 'worker', a clone of docker-golden running a Portainer agent.
export function addPortainerAgent(d: { guests: unknown[] }): void {
  d.guests.push({
    vmid: 220,
    name: "worker",
    template: "docker-golden",
    network: [{ ip: "auto" }],
    features: { portainer: { role: "agent" } },
  });
}

import type { IssuerConfig } from './schema.js';

type Add = (path: string, message: string, hint?: string) => void;

/** Rules of the provider-specific issuer keys (presets, Entra ID, Google) the schema cannot express. */
export function validateIssuerProvider(iss: IssuerConfig, p: string, add: Add): void {
  const templated = iss.issuer.includes('{tenantid}');
  if (templated) {
    if (iss.preset !== 'entra' && iss.entra === undefined) {
      add(`${p}.issuer`, '"{tenantid}" is only understood for Entra ID issuers', 'add preset: entra');
    }
    if ((iss.entra?.tenants ?? []).length === 0) {
      add(`${p}.entra.tenants`, 'must list the allowed tenant ids when the issuer contains {tenantid}', 'e.g. tenants: [72f988bf-86f1-41af-91ab-2d7cd011db47]');
    }
    if (iss.issuer.split('{tenantid}').length > 2) add(`${p}.issuer`, 'may contain {tenantid} only once');
    if (iss.discovery === true) {
      add(`${p}.discovery`, 'cannot be used with a {tenantid} issuer (there is no per-template discovery document)', 'remove it: the entra preset uses the common key set');
    }
  }
  const graph = iss.entra?.graph;
  if (graph && (graph.clientSecret === undefined) === (graph.privateKey === undefined)) {
    add(`${p}.entra.graph`, 'needs exactly one of clientSecret or privateKey', 'e.g. clientSecret: ${GRAPH_SECRET}');
  }
  if (iss.google !== undefined && iss.preset !== 'google') add(`${p}.google`, 'is only used with preset: google');
}


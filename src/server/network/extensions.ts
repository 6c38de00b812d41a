/** The Neutron API extensions this server implements, and nothing else: clients and tempest decide what to use from it. */
export interface Extension {
  alias: string;
  name: string;
  description: string;
}

export const EXTENSIONS: Extension[] = [
  { alias: 'agent', name: 'agent', description: 'The agent management extension.' },
  { alias: 'allowed-address-pairs', name: 'Allowed Address Pairs', description: 'Provides allowed address pairs' },
  { alias: 'binding', name: 'Port Binding', description: 'Expose port bindings of a virtual port to external application' },
  { alias: 'empty-string-filtering', name: 'Empty String Filtering Extension', description: 'Allow filtering by attributes with empty string value' },
  { alias: 'external-net', name: 'Neutron external network', description: 'Adds external network attribute to network resource.' },
  { alias: 'filter-validation', name: 'Filter parameters validation', description: 'Provides validation on filter parameters.' },
  { alias: 'net-mtu', name: 'Network MTU', description: 'Provides MTU attribute for a network resource.' },
  { alias: 'net-mtu-writable', name: 'Network MTU (writable)', description: 'Provides a writable MTU attribute for a network resource.' },
  { alias: 'network', name: 'Neutron L2 Network', description: 'Network abstraction for Neutron.' },
  { alias: 'pagination', name: 'Pagination support', description: 'Extension that indicates that pagination is enabled.' },
  { alias: 'port', name: 'Neutron Port', description: 'Port abstraction for Neutron.' },
  { alias: 'port-security', name: 'Port Security', description: 'Provides port security' },
  { alias: 'project-id', name: 'project_id field enabled', description: 'Extension that indicates that project_id field is enabled.' },
  { alias: 'provider', name: 'Provider Network', description: 'Expose mapping of virtual networks to physical networks' },
  { alias: 'quotas', name: 'Quota management support', description: 'Expose functions for quotas management per project' },
  { alias: 'quota_details', name: 'Quota details management support', description: 'Expose functions for quotas usage statistics per project' },
  { alias: 'revision-if-match', name: 'If-Match constraints based on revision_number', description: "Extension indicating that If-Match based on revision_number is supported." },
  { alias: 'security-group', name: 'security-group', description: 'The security groups extension.' },
  { alias: 'security-groups-normalized-cidr', name: 'Normalized CIDR field for security group rules', description: 'Add new field with normalized remote_ip_prefix cidr in SG rule' },
  { alias: 'sorting', name: 'Sorting support', description: 'Extension that indicates that sorting is enabled.' },
  { alias: 'standard-attr-description', name: 'standard-attr-description', description: 'Extension to add descriptions to standard attributes' },
  { alias: 'standard-attr-revisions', name: 'Resource revision numbers', description: 'This extension will display the revision number of neutron resources.' },
  { alias: 'standard-attr-tag', name: 'Tag support for resources with standard attribute: subnet, trunk, network_segment_range, router, network, policy, subnetpool, port, security_group, floatingip', description: 'Enables to set tag on resources with standard attribute.' },
  { alias: 'standard-attr-timestamp', name: 'Resource timestamps', description: 'Adds created_at and updated_at fields to all Neutron resources that have Neutron standard attributes.' },
  { alias: 'stateful-security-group', name: 'Stateful security group', description: 'Indicates if the security group is stateful or not' },
  { alias: 'subnet', name: 'Neutron L3 Subnet', description: 'Subnet abstraction for Neutron.' },
];

export function renderExtension(e: Extension) {
  return { alias: e.alias, name: e.name, description: e.description, updated: '2013-01-01T00:00:00-00:00', links: [] };
}

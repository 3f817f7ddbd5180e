package heartbeat

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/organizations/types"
)

// OrganizationsAPI is the part of the Organizations client the check uses.
type OrganizationsAPI interface {
	organizations.ListAccountsForParentAPIClient
	organizations.ListOrganizationalUnitsForParentAPIClient
	DescribeOrganization(ctx context.Context, in *organizations.DescribeOrganizationInput, optFns ...func(*organizations.Options)) (*organizations.DescribeOrganizationOutput, error)
}

var _ OrganizationsAPI = (*organizations.Client)(nil)

// Account is an account of the targeted OUs as Organizations lists it.
type Account struct {
	ID, Name string
	// Joined is when the account joined (or was created in) the
	// organization.
	Joined time.Time
}

// maxOUs bounds the OUs one listing walks: Organizations allows 1,000 OUs
// per organization (and five levels of nesting), so more means a loop in
// the answers, not an organization.
const maxOUs = 5000

// ListAccounts returns the active accounts under the targets (OU IDs or the
// root ID) and every OU below them, each once, sorted by ID. Accounts that
// are not active (suspended, pending closure, closed, still being
// activated) are left out: they send nothing and run nothing. Throttled
// calls are retried by the SDK client's retryer; any other error stops the
// listing, naming the parent. An answer that repeats its page token, or
// OUs that loop, end the walk instead of running it forever.
func ListAccounts(ctx context.Context, api OrganizationsAPI, targets []string) ([]Account, error) {
	seen := map[string]bool{}
	var accounts []Account
	accountSeen := map[string]bool{}
	queue := slices.Clone(targets)
	for len(queue) > 0 {
		parent := queue[0]
		queue = queue[1:]
		if seen[parent] {
			continue
		}
		seen[parent] = true
		if len(seen) > maxOUs {
			return nil, fmt.Errorf("list accounts: more than %d OUs under %v: refusing an answer that loops", maxOUs, targets)
		}
		ap := organizations.NewListAccountsForParentPaginator(api, &organizations.ListAccountsForParentInput{ParentId: aws.String(parent)},
			func(o *organizations.ListAccountsForParentPaginatorOptions) { o.StopOnDuplicateToken = true })
		for ap.HasMorePages() {
			page, err := ap.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("list accounts of %s: %w", parent, err)
			}
			for _, a := range page.Accounts {
				id := aws.ToString(a.Id)
				if !accountRe.MatchString(id) || accountSeen[id] || !active(a) {
					continue
				}
				accountSeen[id] = true
				accounts = append(accounts, Account{ID: id, Name: aws.ToString(a.Name), Joined: aws.ToTime(a.JoinedTimestamp).UTC()})
			}
		}
		op := organizations.NewListOrganizationalUnitsForParentPaginator(api, &organizations.ListOrganizationalUnitsForParentInput{ParentId: aws.String(parent)},
			func(o *organizations.ListOrganizationalUnitsForParentPaginatorOptions) { o.StopOnDuplicateToken = true })
		for op.HasMorePages() {
			page, err := op.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("list OUs of %s: %w", parent, err)
			}
			for _, ou := range page.OrganizationalUnits {
				if id := aws.ToString(ou.Id); id != "" && !seen[id] {
					queue = append(queue, id)
				}
			}
		}
	}
	slices.SortFunc(accounts, func(a, b Account) int {
		if a.ID < b.ID {
			return -1
		}
		if a.ID > b.ID {
			return 1
		}
		return 0
	})
	return accounts, nil
}

// active reports whether the account is active. Organizations answers with
// State since 2025 and retires Status on 9 September 2026; an answer with
// only Status (older) is read by it.
func active(a types.Account) bool {
	if a.State != "" {
		return a.State == types.AccountStateActive
	}
	return a.Status == types.AccountStatusActive
}

// ManagementAccount returns the organization's management account, which
// StackSets never deploys a service-managed stack instance to.
func ManagementAccount(ctx context.Context, api OrganizationsAPI) (string, error) {
	out, err := api.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	if err != nil {
		return "", fmt.Errorf("describe organization: %w", err)
	}
	if out.Organization == nil {
		return "", errors.New("describe organization: no organization in the answer")
	}
	return aws.ToString(out.Organization.MasterAccountId), nil
}
